"""classic strategy agents (momentum, ...)"""
