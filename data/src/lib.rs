//! joulebench-data
