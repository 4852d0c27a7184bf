"""The coop's bank account: camt files in, member top-ups out.

`reference` tells which member a payment names; `camt` reads the Swiss bank
files (camt.053 statements, camt.054 notifications) into credits.
"""
