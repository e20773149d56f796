//! `gped predict RUN_DIR INPUT...`: the distilled students' answers for new images, one line
//! per image: class probabilities, predicted class, total, aleatoric and epistemic
//! uncertainty, and the run's OOD flag ([`crate::infer::Distilled`]). INPUT is an IDX images
//! file (raw or gzipped), a PNG or JPEG image, a folder of them, or `-` for an IDX file (or
//! one picture) on stdin; pixels are scaled to [0, 1] as the training data were, pictures
//! converted and resized as `data::decode_picture` says. The run's occlusion squares were a
//! training-data augmentation and are not applied here.

use crate::base::write_atomic;
use crate::data::{
    Dataset, decode_picture, decompress_if_gzipped, is_picture, list_pictures, parse_images,
};
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
    /// IDX images files (raw or .gz) of the run's image size, PNG/JPEG images (converted to
    /// the run's channels and resized), folders of them; `-` reads one file from stdin.
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
    ood: Option<bool>,
}

/// The images of one INPUT, with the input name and index each output line gives them (an
/// IDX file's images are its name with 0, 1, ...; a folder's pictures are each its own path
/// with 0).
struct Inputs {
    images: Dataset,
    names: Vec<(String, usize)>,
    source: PathBuf,
}

/// Runs `gped predict`.
pub fn run(args: PredictArgs) -> Result<()> {
    let mut distilled = Distilled::open(&args.run_dir)?;
    let classes = distilled.classes();
    if distilled.ood.is_none() {
        eprintln!(
            "note: run {} chose no OOD threshold (data.holdout = 0), so `ood` is empty",
            args.run_dir.display()
        );
    }
    let mut answers = Vec::with_capacity(args.inputs.len());
    for input in &args.inputs {
        let inputs = read_inputs(input, distilled.image_shape(), classes)?;
        let predictions = distilled.predict_images(&inputs.images, &inputs.source)?;
        answers.push((inputs.names, predictions));
    }
    let text = match args.format {
        PredictFormat::Jsonl => jsonl(&answers)?,
        PredictFormat::Csv => csv_text(&answers, classes)?,
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

/// The images of `input` (a path, or `-` for stdin), scaled to [0, 1] as `Dataset::from_u8`
/// scales the training data; pictures also take the run's image `shape` (channels, height,
/// width).
fn read_inputs(input: &str, shape: [usize; 3], classes: usize) -> Result<Inputs> {
    if input != "-" && Path::new(input).is_dir() {
        let dir = PathBuf::from(input);
        let files = list_pictures(&dir)?;
        let mut values = Vec::new();
        for file in &files {
            let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
            values.extend(decode_picture(&bytes, file, shape)?);
        }
        let images = Dataset::new(values, vec![0; files.len()], shape, classes)?;
        let names = files.iter().map(|f| (f.display().to_string(), 0)).collect();
        return Ok(Inputs {
            images,
            names,
            source: dir,
        });
    }
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
    let images = if is_picture(&bytes) {
        Dataset::new(
            decode_picture(&bytes, &source, shape)?,
            vec![0],
            shape,
            classes,
        )?
    } else {
        let bytes = decompress_if_gzipped(bytes, &source)?;
        let idx = parse_images(&bytes, &source)?;
        Dataset::from_u8(
            &idx.pixels,
            vec![0; idx.n],
            [1, idx.rows, idx.cols],
            classes,
        )?
    };
    let names = (0..images.len()).map(|i| (input.to_string(), i)).collect();
    Ok(Inputs {
        images,
        names,
        source,
    })
}

/// The lines of each input's answers, in order.
fn lines(answers: &Answers) -> impl Iterator<Item = Line<'_>> {
    answers.iter().flat_map(|(names, a)| {
        let u = &a.uncertainty;
        names
            .iter()
            .enumerate()
            .map(move |(i, (input, index))| Line {
                input,
                index: *index,
                class: a.class[i],
                probabilities: &a.probs[i * a.classes..(i + 1) * a.classes],
                total: u.total[i],
                aleatoric: u.aleatoric.as_ref().map(|v| v[i]),
                epistemic: u.knowledge.as_ref().map(|v| v[i]),
                ood: a.ood.as_ref().map(|v| v[i]),
            })
    })
}

/// One answer set per INPUT: the (input, index) names of its images and their predictions.
type Answers = [(Vec<(String, usize)>, Predictions)];

fn jsonl(answers: &Answers) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for line in lines(answers) {
        serde_json::to_writer(&mut out, &line)
            .map_err(|e| Error::InvalidArgument(format!("JSON output: {e}")))?;
        out.push(b'\n');
    }
    Ok(out)
}

fn csv_text(answers: &Answers, classes: usize) -> Result<Vec<u8>> {
    let csv_error = |e: csv::Error| Error::InvalidArgument(format!("CSV output: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["input".to_string(), "index".into(), "class".into()];
    header.extend((0..classes).map(|c| format!("p{c}")));
    header.extend(["total", "aleatoric", "epistemic", "ood"].map(String::from));
    w.write_record(&header).map_err(csv_error)?;
    let optional = |v: Option<f32>| v.map_or(String::new(), |v| v.to_string());
    for line in lines(answers) {
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
            line.ood.map_or(String::new(), |f| f.to_string()),
        ]);
        w.write_record(&record).map_err(csv_error)?;
    }
    w.into_inner()
        .map_err(|e| Error::InvalidArgument(format!("CSV output: {e}")))
}
