//! The tray icons, drawn in code at any pixel size.
//!
//! Drawing instead of shipping bitmaps keeps every size (16/18/22/32 px and
//! their @2x) crisp and reproducible: `cargo run -p airlock-app --example
//! gen_icons` writes the same pixels into `resources/icons/` every time.
//! Each state differs in shape as well as colour, so the icon reads for
//! colour-blind users too: a filled shield with a check (protected), with a
//! cross (blocking), an empty outline (off), pause bars (paused) and an
//! exclamation mark (fault; on an outline when the helper is unreachable).

/// What the icon says. One per visible state of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconKind {
    /// Green shield with a check: kill switch on, tunnel up.
    Protected,
    /// Red shield with a cross: kill switch on, tunnel down.
    Blocking,
    /// Grey shield outline: kill switch off.
    Off,
    /// Amber shield with pause bars.
    Paused,
    /// Amber shield with an exclamation mark: rules not as they should be.
    Fault,
    /// Amber outline with an exclamation mark: no answer from the helper.
    Unreachable,
}

impl IconKind {
    pub const ALL: [IconKind; 6] = [
        IconKind::Protected,
        IconKind::Blocking,
        IconKind::Off,
        IconKind::Paused,
        IconKind::Fault,
        IconKind::Unreachable,
    ];

    /// File stem under `resources/icons/`.
    pub fn name(self) -> &'static str {
        match self {
            IconKind::Protected => "protected",
            IconKind::Blocking => "blocking",
            IconKind::Off => "off",
            IconKind::Paused => "paused",
            IconKind::Fault => "fault",
            IconKind::Unreachable => "unreachable",
        }
    }

    /// The shield's colour (sRGB).
    pub fn colour(self) -> [u8; 3] {
        match self {
            IconKind::Protected => GREEN,
            IconKind::Blocking => RED,
            IconKind::Off => GREY,
            IconKind::Paused | IconKind::Fault | IconKind::Unreachable => AMBER,
        }
    }

    fn filled(self) -> bool {
        !matches!(self, IconKind::Off | IconKind::Unreachable)
    }

    fn glyph(self) -> Glyph {
        match self {
            IconKind::Protected => Glyph::Check,
            IconKind::Blocking => Glyph::Cross,
            IconKind::Off => Glyph::None,
            IconKind::Paused => Glyph::Pause,
            IconKind::Fault | IconKind::Unreachable => Glyph::Exclamation,
        }
    }
}

pub const GREEN: [u8; 3] = [0x1e, 0x9e, 0x45];
pub const RED: [u8; 3] = [0xd9, 0x2d, 0x20];
pub const GREY: [u8; 3] = [0x8c, 0x8c, 0x8c];
pub const AMBER: [u8; 3] = [0xf0, 0x9a, 0x00];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];

/// Sizes shipped in `resources/icons/` (the @2x variants are double).
pub const SIZES: [u32; 4] = [16, 18, 22, 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glyph {
    None,
    Check,
    Cross,
    Pause,
    Exclamation,
}

/// Samples per pixel side: 4x4 supersampling is enough for smooth edges
/// at 16 px and costs nothing measurable at 64.
const SUPERSAMPLE: u32 = 4;

/// Straight RGBA (not premultiplied), row-major, `size * size * 4` bytes.
pub fn render(kind: IconKind, size: u32) -> Vec<u8> {
    let size = size.max(1);
    let px = 1.0 / size as f32;
    // Straight edges on whole pixels, so they are sharp, not half-grey,
    // at 16 px; strokes at least a pixel and a half (glyphs) or two
    // pixels (outline), else they fade at small sizes.
    let snap = |v: f32, min: f32| (v * size as f32).round().max(min) * px;
    let stroke = snap(0.09, 2.0);
    let glyph_width = (0.12f32).max(1.6 * px);
    let side = snap(0.08, 1.0);
    let outer = Shield {
        half_width: 0.5 - side,
        top: snap(Shield::OUTER.top, 1.0),
        ..Shield::OUTER
    };
    let inner = outer.inset(stroke);
    let colour = kind.colour();
    let mut out = Vec::with_capacity((size * size * 4) as usize);
    let n = SUPERSAMPLE;
    let samples = (n * n) as f32;
    for row in 0..size {
        for col in 0..size {
            // Coverage of the shield colour and of the white glyph.
            let (mut shield, mut glyph) = (0.0f32, 0.0f32);
            for sy in 0..n {
                for sx in 0..n {
                    let x = (col as f32 + (sx as f32 + 0.5) / n as f32) * px;
                    let y = (row as f32 + (sy as f32 + 0.5) / n as f32) * px;
                    let in_outer = outer.contains(x, y);
                    if !in_outer {
                        continue;
                    }
                    let on_glyph = glyph_contains(kind.glyph(), x, y, glyph_width);
                    if kind.filled() {
                        if on_glyph {
                            glyph += 1.0;
                        } else {
                            shield += 1.0;
                        }
                    } else if !inner.contains(x, y) || on_glyph {
                        // Outline and glyph both in the shield colour: an
                        // empty shield has no fill for white to stand on.
                        shield += 1.0;
                    }
                }
            }
            let (shield, glyph) = (shield / samples, glyph / samples);
            let alpha = shield + glyph;
            if alpha <= 0.0 {
                out.extend_from_slice(&[0, 0, 0, 0]);
                continue;
            }
            for c in 0..3 {
                let v = (colour[c] as f32 * shield + WHITE[c] as f32 * glyph) / alpha;
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
            out.push((alpha * 255.0).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// A shield in unit coordinates: flat top, straight sides down to `waist`,
/// then curving to a point at `bottom`.
#[derive(Debug, Clone, Copy)]
struct Shield {
    half_width: f32,
    top: f32,
    waist: f32,
    bottom: f32,
}

impl Shield {
    const OUTER: Shield = Shield {
        half_width: 0.42,
        top: 0.04,
        waist: 0.45,
        bottom: 0.97,
    };

    /// The same shield shrunk by `d` on every side (the point moves up
    /// more, so the stroke looks even along the slanted edges).
    fn inset(self, d: f32) -> Shield {
        Shield {
            half_width: self.half_width - d,
            top: self.top + d,
            waist: self.waist,
            bottom: self.bottom - 1.6 * d,
        }
    }

    fn contains(&self, x: f32, y: f32) -> bool {
        if y < self.top || y > self.bottom {
            return false;
        }
        let dx = (x - 0.5).abs();
        if y <= self.waist {
            return dx <= self.half_width;
        }
        let t = (y - self.waist) / (self.bottom - self.waist);
        dx <= self.half_width * (t * std::f32::consts::FRAC_PI_2).cos()
    }
}

fn glyph_contains(glyph: Glyph, x: f32, y: f32, w: f32) -> bool {
    let r = w / 2.0;
    match glyph {
        Glyph::None => false,
        Glyph::Check => {
            segment_distance(x, y, (0.30, 0.47), (0.45, 0.63)) <= r
                || segment_distance(x, y, (0.45, 0.63), (0.71, 0.33)) <= r
        }
        Glyph::Cross => {
            segment_distance(x, y, (0.34, 0.30), (0.66, 0.64)) <= r
                || segment_distance(x, y, (0.66, 0.30), (0.34, 0.64)) <= r
        }
        Glyph::Pause => {
            let bar = w.max(0.11);
            let in_y = (0.28..=0.66).contains(&y);
            in_y && ((x - 0.40).abs() <= bar / 2.0 || (x - 0.60).abs() <= bar / 2.0)
        }
        Glyph::Exclamation => {
            segment_distance(x, y, (0.5, 0.31), (0.5, 0.56)) <= r
                || ((x - 0.5).powi(2) + (y - 0.72).powi(2)).sqrt() <= r * 1.1
        }
    }
}

/// Distance from a point to a line segment (round caps for free).
fn segment_distance(x: f32, y: f32, a: (f32, f32), b: (f32, f32)) -> f32 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let (apx, apy) = (x - a.0, y - a.1);
    let len2 = abx * abx + aby * aby;
    let t = if len2 == 0.0 {
        0.0
    } else {
        ((apx * abx + apy * aby) / len2).clamp(0.0, 1.0)
    };
    let (dx, dy) = (apx - t * abx, apy - t * aby);
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(img: &[u8], size: u32, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * size + x) * 4) as usize;
        [img[i], img[i + 1], img[i + 2], img[i + 3]]
    }

    fn opaque_share(img: &[u8], colour: [u8; 3]) -> f32 {
        let px: Vec<&[u8]> = img.chunks(4).collect();
        let hits = px
            .iter()
            .filter(|p| p[3] == 255 && p[..3] == colour[..])
            .count();
        hits as f32 / px.len() as f32
    }

    #[test]
    fn every_size_has_the_right_length_and_transparent_corners() {
        for kind in IconKind::ALL {
            for base in SIZES {
                for size in [base, base * 2] {
                    let img = render(kind, size);
                    assert_eq!(img.len(), (size * size * 4) as usize);
                    for (x, y) in [(0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)] {
                        assert_eq!(pixel(&img, size, x, y)[3], 0, "{kind:?} {size} ({x},{y})");
                    }
                }
            }
        }
    }

    #[test]
    fn filled_icons_show_their_colour_and_a_white_glyph() {
        for kind in [
            IconKind::Protected,
            IconKind::Blocking,
            IconKind::Paused,
            IconKind::Fault,
        ] {
            for size in [16, 32, 64] {
                let img = render(kind, size);
                let colour = opaque_share(&img, kind.colour());
                let white = opaque_share(&img, WHITE);
                assert!(colour > 0.25, "{kind:?} {size}: colour share {colour}");
                assert!(white > 0.02, "{kind:?} {size}: glyph share {white}");
            }
        }
    }

    #[test]
    fn outline_icons_are_hollow() {
        for kind in [IconKind::Off, IconKind::Unreachable] {
            for size in [16, 22, 32] {
                let img = render(kind, size);
                // The top of the shield's inside, left of any glyph, is
                // transparent; the top edge is solid colour.
                let inside = pixel(&img, size, size * 3 / 10, size * 3 / 10);
                assert_eq!(inside[3], 0, "{kind:?} {size}: inside {inside:?}");
                // The top edge is crisp: a fully opaque row near the top.
                let c = kind.colour();
                let solid =
                    (0..4).any(|y| pixel(&img, size, size / 2 - 3, y) == [c[0], c[1], c[2], 255]);
                assert!(solid, "{kind:?} {size}: no crisp top edge");
                assert_eq!(
                    opaque_share(&img, WHITE),
                    0.0,
                    "{kind:?}: no white on an outline"
                );
            }
        }
    }

    #[test]
    fn states_differ_in_shape_not_only_colour() {
        // Compare alpha masks of the glyph (white) pixels: colour-blind
        // users see shapes, so no two filled states may share a glyph.
        let size = 32;
        let mask = |kind: IconKind| -> Vec<bool> {
            render(kind, size)
                .chunks(4)
                .map(|p| p[3] > 128 && p[0] > 200 && p[1] > 200 && p[2] > 200)
                .collect()
        };
        let kinds = [
            IconKind::Protected,
            IconKind::Blocking,
            IconKind::Paused,
            IconKind::Fault,
        ];
        for (i, a) in kinds.iter().enumerate() {
            for b in &kinds[i + 1..] {
                let (ma, mb) = (mask(*a), mask(*b));
                let differing = ma.iter().zip(&mb).filter(|(x, y)| x != y).count();
                assert!(
                    differing > 20,
                    "{a:?} vs {b:?}: only {differing} pixels differ"
                );
            }
        }
        // Off and Unreachable are both outlines: the glyph tells them apart.
        let alpha = |kind| -> Vec<u8> { render(kind, size).chunks(4).map(|p| p[3]).collect() };
        assert_ne!(alpha(IconKind::Off), alpha(IconKind::Unreachable));
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = IconKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), IconKind::ALL.len());
    }
}
