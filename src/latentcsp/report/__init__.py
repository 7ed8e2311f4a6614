"""Figures and tables of the report, from the pipeline's own outputs."""
