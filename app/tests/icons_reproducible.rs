//! The committed icons in `resources/icons/` are exactly what the drawing
//! code makes: change `icons.rs` without re-running
//! `cargo run -p airlock-app --example gen_icons` and this fails.

use std::io::BufReader;
use std::path::Path;

use airlock_app::icons::{self, IconKind};

#[test]
fn committed_icons_match_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources/icons");
    for kind in IconKind::ALL {
        for base in icons::SIZES {
            for (size, suffix) in [(base, ""), (base * 2, "@2x")] {
                let path = dir.join(format!("{}-{base}{suffix}.png", kind.name()));
                let file = std::fs::File::open(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let mut reader = png::Decoder::new(BufReader::new(file)).read_info().unwrap();
                let mut buf = vec![0; reader.output_buffer_size().unwrap()];
                let info = reader.next_frame(&mut buf).unwrap();
                assert_eq!(
                    (info.width, info.height),
                    (size, size),
                    "{}",
                    path.display()
                );
                assert_eq!(info.color_type, png::ColorType::Rgba, "{}", path.display());
                assert!(
                    buf[..info.buffer_size()] == icons::render(kind, size)[..],
                    "{} differs from the code: re-run gen_icons",
                    path.display()
                );
            }
        }
    }
}
