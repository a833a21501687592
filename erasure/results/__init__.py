"""Results: atomic JSON on disk, and the tables and plots built from it."""
from .plots import PlotFiles, write_plots
from .rebuild import load_results, rebuild, write_reports
from .report import summary_table
from .tables import (
                     KEY_METRICS,
                     ResultsError,
                     Row,
                     Stat,
                     aggregate,
                     csv_text,
                     describe,
                     markdown_table,
                     t_critical,
                     write_tables,
)
from .write import RESULTS_FILE, check_writable, write_json_atomic

__all__ = ["KEY_METRICS", "RESULTS_FILE", "PlotFiles", "ResultsError", "Row", "Stat", "aggregate",
           "check_writable", "csv_text", "describe", "load_results",
           "markdown_table", "rebuild", "summary_table", "t_critical", "write_json_atomic",
           "write_plots", "write_reports", "write_tables"]
