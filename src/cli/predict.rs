//! `gped predict RUN_DIR INPUT...`: the distilled students' answers for new images, one line
//! per image: class probabilities, predicted class, total, aleatoric and epistemic
//! uncertainty ([`crate::infer::Distilled`]). INPUT is an IDX images file (raw or gzipped) or
//! `-` for one on stdin; pixels are scaled to [0, 1] as the training data were. The run's
//! occlusion squares were a training-data augmentation and are not applied here.

use crate::base::write_atomic;
use crate::data::{Dataset, decompress_if_gzipped, parse_images};
use crate::infer::{Distilled, Predictions};
use crate::{Error, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `gped predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run folder written by `gped run` (its config.toml and students/ are read).
    pub run_dir: PathBuf,
    /// IDX images files (raw or .gz) of the run's image size; `-` reads one from stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Output format: one JSON object per line, or CSV with probabilities as p0..pK-1.
    #[arg(long, value_enum, default_value_t = PredictFormat::Jsonl)]
    pub format: PredictFormat,
    /// Output file, written atomically (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The output formats of `gped predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PredictFormat {
    Jsonl,
    Csv,
}

/// One output line.
#[derive(Serialize)]
struct Line<'a> {
    input: &'a str,
    index: usize,
    class: usize,
    probabilities: &'a [f32],
    total: f32,
    aleatoric: Option<f32>,
    epistemic: Option<f32>,
}

/// Runs `gped predict`.
pub fn run(args: PredictArgs) -> Result<()> {
    let mut distilled = Distilled::open(&args.run_dir)?;
    let classes = distilled.classes();
    let mut answers = Vec::with_capacity(args.inputs.len());
    for input in &args.inputs {
        let (images, source) = read_images(input, classes)?;
        answers.push(distilled.predict_images(&images, &source)?);
    }
    let text = match args.format {
        PredictFormat::Jsonl => jsonl(&args.inputs, &answers)?,
        PredictFormat::Csv => csv_text(&args.inputs, &answers, classes)?,
    };
    match &args.out {
        Some(path) => write_atomic(path, &text),
        None => match std::io::stdout().lock().write_all(&text) {
            // A reader that stopped early (`| head`) wanted no more lines.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|e| Error::io(Path::new("<stdout>"), e)),
        },
    }
}

/// The images of `input` (a path, or `-` for stdin) scaled to [0, 1] as `Dataset::from_u8`
/// scales the training data, with the path errors should name.
fn read_images(input: &str, classes: usize) -> Result<(Dataset, PathBuf)> {
    let (bytes, source) = if input == "-" {
        let source = PathBuf::from("<stdin>");
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(&source, e))?;
        (bytes, source)
    } else {
        let source = PathBuf::from(input);
        let bytes = std::fs::read(&source).map_err(|e| Error::io(&source, e))?;
        (bytes, source)
    };
    let bytes = decompress_if_gzipped(bytes, &source)?;
    let idx = parse_images(&bytes, &source)?;
    let images = Dataset::from_u8(
        &idx.pixels,
        vec![0; idx.n],
        [1, idx.rows, idx.cols],
        classes,
    )?;
    Ok((images, source))
}

/// The lines of each input's answers, in order.
fn lines<'a>(
    inputs: &'a [String],
    answers: &'a [Predictions],
) -> impl Iterator<Item = Line<'a>> + 'a {
    inputs.iter().zip(answers).flat_map(|(input, a)| {
        let u = &a.uncertainty;
        (0..a.class.len()).map(move |i| Line {
            input,
            index: i,
            class: a.class[i],
            probabilities: &a.probs[i * a.classes..(i + 1) * a.classes],
            total: u.total[i],
            aleatoric: u.aleatoric.as_ref().map(|v| v[i]),
            epistemic: u.knowledge.as_ref().map(|v| v[i]),
        })
    })
}

fn jsonl(inputs: &[String], answers: &[Predictions]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for line in lines(inputs, answers) {
        serde_json::to_writer(&mut out, &line)
            .map_err(|e| Error::InvalidArgument(format!("JSON output: {e}")))?;
        out.push(b'\n');
    }
    Ok(out)
}

fn csv_text(inputs: &[String], answers: &[Predictions], classes: usize) -> Result<Vec<u8>> {
    let csv_error = |e: csv::Error| Error::InvalidArgument(format!("CSV output: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["input".to_string(), "index".into(), "class".into()];
    header.extend((0..classes).map(|c| format!("p{c}")));
    header.extend(["total".into(), "aleatoric".into(), "epistemic".into()]);
    w.write_record(&header).map_err(csv_error)?;
    let optional = |v: Option<f32>| v.map_or(String::new(), |v| v.to_string());
    for line in lines(inputs, answers) {
        let mut record = vec![
            line.input.to_string(),
            line.index.to_string(),
            line.class.to_string(),
        ];
        record.extend(line.probabilities.iter().map(f32::to_string));
        record.extend([
            line.total.to_string(),
            optional(line.aleatoric),
            optional(line.epistemic),
        ]);
        w.write_record(&record).map_err(csv_error)?;
    }
    w.into_inner()
        .map_err(|e| Error::InvalidArgument(format!("CSV output: {e}")))
}
