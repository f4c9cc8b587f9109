"""The single care record: partner extracts in, one person per human, the joined-up record out."""
