//! Loading the real MNIST / Fashion-MNIST files (`$JOULEBENCH_DATA`); without them each test
//! fails in CI and is listed as skipped locally (`joulebench_testkit`).

use joulebench_data::fetch::{fetch, known_files, FetchOutcome, FetchSource};
use joulebench_data::{Dataset, DatasetKind};

#[test]
fn mnist_counts_and_stats() {
    let Some(dir) = joulebench_testkit::shared_data("mnist") else {
        return;
    };
    let d = Dataset::load(DatasetKind::Mnist, Some(&dir)).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (60000, 10000));
    assert_eq!(
        d.train.class_counts(10),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        d.test.class_counts(10),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let i = d.info();
    // the normalization constants everyone uses are these statistics, rounded
    assert!(
        (i.train.value_mean - 0.1307).abs() < 5e-5,
        "{}",
        i.train.value_mean
    );
    assert!(
        (i.train.value_std - 0.3081).abs() < 5e-5,
        "{}",
        i.train.value_std
    );
}

#[test]
fn fashion_mnist_is_balanced() {
    let Some(dir) = joulebench_testkit::shared_data("fashion-mnist") else {
        return;
    };
    let d = Dataset::load(DatasetKind::FashionMnist, Some(&dir)).unwrap();
    assert_eq!(d.train.class_counts(10), vec![6000; 10]);
    assert_eq!(d.test.class_counts(10), vec![1000; 10]);
    let i = d.info();
    assert!(
        (i.train.value_mean - 0.2860).abs() < 5e-5,
        "{}",
        i.train.value_mean
    );
    assert!(
        (i.train.value_std - 0.3530).abs() < 5e-5,
        "{}",
        i.train.value_std
    );
    assert_eq!(i.class_names[0], "T-shirt/top");
}

#[test]
fn fetch_from_local_copies_verifies_and_then_skips() {
    let Some(src) = joulebench_testkit::shared_data("mnist") else {
        return;
    };
    let dst = tempfile::tempdir().unwrap();
    let first = fetch(
        DatasetKind::Mnist,
        dst.path(),
        FetchSource::Local(&src),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(first.len(), 4);
    assert!(first
        .iter()
        .all(|f| matches!(f.outcome, FetchOutcome::Copied { .. })));
    for (f, k) in first.iter().zip(known_files(DatasetKind::Mnist)) {
        assert_eq!(f.sha256, k.sha256);
        assert_eq!(std::fs::metadata(&f.path).unwrap().len(), k.bytes);
    }
    let again = fetch(
        DatasetKind::Mnist,
        dst.path(),
        FetchSource::Local(&src),
        &mut |_| {},
    )
    .unwrap();
    assert!(again
        .iter()
        .all(|f| f.outcome == FetchOutcome::AlreadyPresent));
    // a corrupted destination file is replaced
    std::fs::write(dst.path().join("t10k-labels-idx1-ubyte.gz"), b"junk").unwrap();
    let fixed = fetch(
        DatasetKind::Mnist,
        dst.path(),
        FetchSource::Local(&src),
        &mut |_| {},
    )
    .unwrap();
    assert!(matches!(fixed[3].outcome, FetchOutcome::Copied { .. }));
    let d = Dataset::load(DatasetKind::Mnist, Some(dst.path())).unwrap();
    assert_eq!(d.test.len(), 10000);
}
