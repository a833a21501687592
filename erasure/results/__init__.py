"""Results: atomic JSON on disk, and tables built from it."""
from .report import summary_table
from .write import RESULTS_FILE, check_writable, choose_run_folder, write_json_atomic

__all__ = ["RESULTS_FILE", "check_writable", "choose_run_folder", "summary_table",
           "write_json_atomic"]
