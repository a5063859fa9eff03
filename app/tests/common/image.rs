//! Decoded screenshots and the colour search the icon checks use.

use std::io::BufReader;
use std::path::Path;

pub struct Image {
    pub width: u32,
    pub height: u32,
    /// RGB, row-major.
    pub rgb: Vec<u8>,
}

impl Image {
    pub fn load(path: &Path) -> Image {
        let mut decoder = png::Decoder::new(BufReader::new(std::fs::File::open(path).unwrap()));
        // Palette or 16-bit screenshots become plain 8-bit samples.
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = reader.output_color_type().0.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| match channels {
                1 | 2 => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Image {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Bounding box (x0, y0, x1, y1) and count of pixels near `colour`.
    pub fn find(&self, colour: [u8; 3], tolerance: i32) -> Option<((u32, u32, u32, u32), usize)> {
        let mut bbox: Option<(u32, u32, u32, u32)> = None;
        let mut n = 0;
        for y in 0..self.height {
            for x in 0..self.width {
                let p = self.pixel(x, y);
                let close = (0..3).all(|c| (p[c] as i32 - colour[c] as i32).abs() <= tolerance);
                if close {
                    n += 1;
                    bbox = Some(match bbox {
                        None => (x, y, x, y),
                        Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x), d.max(y)),
                    });
                }
            }
        }
        bbox.map(|b| (b, n))
    }
}
