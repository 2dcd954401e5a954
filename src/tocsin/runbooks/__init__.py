"""(issue 19)"""
