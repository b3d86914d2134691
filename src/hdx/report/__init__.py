"""Run directories, result files and plots."""
