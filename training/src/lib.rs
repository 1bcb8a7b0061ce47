//! joulebench-training
