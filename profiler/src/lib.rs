//! joulebench-profiler
