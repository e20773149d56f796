//! The inference API, `gped::infer::Distilled`, on a run folder made without any data file.
//! The demo's GPED run on two moons (`gped::demo::train`: Algorithm 1, the loop of `gped run`,
//! about 15 s on 2 cores) writes a run folder into a temporary folder; `Distilled::open` reads
//! its students back, and `predict` answers for a few points of the plane, on the data,
//! between the moons and far from them:
//!
//!     cargo run --release --example distilled
//!
//! `Distilled::open(dir)` reads any run folder of `gped run` or `gped demo` (`config.toml`
//! and `students/NAME.safetensors`) and rebuilds the students in evaluation mode.
//! `predict(inputs)` takes the inputs as the run's dataset stores them, one after the other
//! (here the points scaled into [0, 1] by `data::PLANE`; for MNIST runs, 784 pixel values in
//! [0, 1] per image), and gives for each: the predictive student's class probabilities and
//! class, and the total uncertainty (their entropy), the aleatoric uncertainty (the entropy
//! student's output) and the epistemic uncertainty (total - aleatoric), in nats.

use gped::data::PLANE;
use gped::demo::{demo_config, train};
use gped::infer::Distilled;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = tempfile::tempdir()?;
    let run_dir = scratch.path().join("run");
    println!(
        "training the demo's teacher and students into {} ...",
        run_dir.display()
    );
    let cfg = demo_config(0, &[])?;
    train(&cfg, &run_dir, true)?;

    let mut students = Distilled::open(&run_dir)?;
    let points = [
        ("on the upper moon", (0.0, 1.0)),
        ("on the lower moon", (1.0, -0.5)),
        ("between the moons", (0.5, 0.25)),
        ("far, lower left", (-1.5, -2.0)),
        ("far, upper right", (2.5, 2.5)),
        ("far, above", (-0.5, 2.5)),
    ];
    let inputs: Vec<f32> = points
        .iter()
        .flat_map(|&(_, (x, y))| PLANE.to_unit(x, y))
        .collect();
    let answers = students.predict(&inputs)?;
    let k = answers.classes;
    let u = &answers.uncertainty;
    let (aleatoric, epistemic) = (u.aleatoric.as_ref(), u.knowledge.as_ref());
    println!(
        "{:<18} {:>5} {:>5}  {:>5} {:>5} {:>5}  {:>6} {:>9} {:>9}",
        "point", "x", "y", "p(0)", "p(1)", "class", "total", "aleatoric", "epistemic"
    );
    for (i, (name, (x, y))) in points.iter().enumerate() {
        let p = &answers.probs[i * k..(i + 1) * k];
        println!(
            "{name:<18} {x:>5.1} {y:>5.2}  {:>5.3} {:>5.3} {:>5}  {:>6.3} {:>9.3} {:>9.3}",
            p[0],
            p[1],
            answers.class[i],
            u.total[i],
            aleatoric.map_or(f32::NAN, |a| a[i]),
            epistemic.map_or(f32::NAN, |e| e[i]),
        );
    }
    println!(
        "(in nats; ln 2 = 0.693 is the most two classes can have. Far from the data the \
         epistemic part is high where the teacher's posterior samples disagree, around the \
         continuations of the boundary between the classes; straight above the upper moon \
         they all say class 0.)"
    );
    Ok(())
}
