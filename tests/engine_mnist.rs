//! Training sanity of the engine on real MNIST: the paper's FCNN (784-400-400-10, PyTorch
//! default init) trained with Adam (lr 1e-3, batch 100) on pixels in [0, 1].
//!
//! Reference: an independent numpy implementation of the same training (init, shuffled
//! batches, Adam as documented by PyTorch) reached 95.3% and 96.5% test accuracy after one
//! epoch for two seeds (`tests/reference/mnist_mlp_numpy.py`); gped gets 96.5% (seeds 0, 1, 2: 96.46%, 96.49%, 96.45%). One epoch is
//! therefore not enough for 97% in this setting; two are (97.5% here), so the test trains two
//! epochs and asserts 96% after the first and 97% after the second. Real data only: ignored
//! unless asked for (`--include-ignored`), and then failing without `GPED_DATA_DIR`.

mod common;

use gped::config::Arch;
use gped::data::{ChecksumPolicy, Dataset, EpochSampler, Split, load};
use gped::model::{ModelSpec, build};
use gped::nn::{Network, loss};
use gped::optim::{Adam, AdamConfig, Optimizer};

fn test_accuracy(net: &mut Network, test: &Dataset) -> f64 {
    net.training = false;
    let logits = net.forward(test.images(), test.len());
    let mut probs = vec![0.0; logits.len()];
    loss::softmax_rows(logits, 10, &mut probs);
    net.training = true;
    gped::metrics::nll_and_accuracy(&probs, test.labels(), 10).1
}

#[test]
#[ignore = "needs the real MNIST files: GPED_DATA_DIR=../shared/data cargo test --release -- --include-ignored"]
fn fcnn_with_adam_reaches_97_percent() {
    let dir = common::real_data_dir();
    let train = load(&dir, "mnist", Split::Train, ChecksumPolicy::Verify).unwrap();
    let test = load(&dir, "mnist", Split::Test, ChecksumPolicy::Verify).unwrap();
    let mut net = build(&ModelSpec::teacher(Arch::Fcnn, 10), 0);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let mut batches = EpochSampler::new((0..train.len()).collect(), 0).unwrap();
    let (m, k) = (100, 10);
    let (mut idx, mut x, mut y) = (vec![0; m], vec![0.0; m * 784], vec![0u8; m]);
    let mut grad = vec![0.0; m * k];
    let mut accuracy = Vec::new();
    for _epoch in 0..2 {
        for _ in 0..train.len() / m {
            batches.next_batch(&mut idx);
            train.gather_images(&idx, &mut x).unwrap();
            train.gather_labels(&idx, &mut y).unwrap();
            net.params.zero_grads();
            let logits = net.forward(&x, m);
            loss::nll(logits, &y, k, &mut grad);
            net.backward(&x, &grad, m);
            adam.step(&mut net.params);
        }
        accuracy.push(test_accuracy(&mut net, &test));
    }
    println!("test accuracy after epochs 1, 2: {accuracy:?}");
    assert!(accuracy[0] >= 0.96, "after one epoch: {}", accuracy[0]);
    assert!(accuracy[1] >= 0.97, "after two epochs: {}", accuracy[1]);
}
