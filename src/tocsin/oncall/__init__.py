"""On-call schedules: rotations, layers, restrictions, overrides and who is on call when."""
