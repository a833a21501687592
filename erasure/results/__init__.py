"""Results: atomic JSON on disk, and the tables and plots built from it; :func:`load`, the
results as a pandas DataFrame."""
from .frame import load
from .long_form import RESULTS_CSV, split_key
from .plots import PlotFiles, write_plots
from .rebuild import load_results, rebuild, write_reports
from .report import summary_table
from .ranking import Ranked, Ranking
from .tables import (
                     KEY_METRICS,
                     ResultsError,
                     Row,
                     Stat,
                     aggregate,
                     csv_text,
                     describe,
                     markdown_table,
                     rank_methods,
                     t_critical,
                     write_tables,
)
from .write import RESULTS_FILE, check_writable, write_json_atomic

__all__ = ["KEY_METRICS", "RESULTS_CSV", "RESULTS_FILE", "PlotFiles", "Ranked", "Ranking",
           "ResultsError", "Row", "Stat", "aggregate", "check_writable", "csv_text", "describe",
           "load", "load_results", "markdown_table", "rank_methods", "rebuild", "split_key",
           "summary_table", "t_critical", "write_json_atomic", "write_plots", "write_reports",
           "write_tables"]
