//! Writes the tray icons into `resources/icons/` from the code that draws
//! them (`airlock_app::icons`), so the files are reproducible:
//! `cargo run -p airlock-app --example gen_icons`. A unit test checks the
//! committed files still match the code.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use airlock_app::icons::{self, IconKind};

fn main() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources/icons");
    std::fs::create_dir_all(&dir)?;
    let mut written = 0;
    for kind in IconKind::ALL {
        for base in icons::SIZES {
            for (scale, suffix) in [(1, ""), (2, "@2x")] {
                let size = base * scale;
                let path: PathBuf = dir.join(format!("{}-{base}{suffix}.png", kind.name()));
                write_png(&path, size, &icons::render(kind, size))?;
                written += 1;
            }
        }
    }
    println!("wrote {written} icons to {}", dir.display());
    Ok(())
}

fn write_png(path: &Path, size: u32, rgba: &[u8]) -> anyhow::Result<()> {
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(rgba)?;
    Ok(())
}
