"""replays recorded candles and funding rates from CSV/Parquet files as a market feed"""
