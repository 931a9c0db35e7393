//! QR codes as inline SVG (the `qrcode` crate's SVG renderer; no image crates).

use qrcode::QrCode;
use qrcode::render::svg;

/// An SVG QR code of `data`, or an empty string if it cannot be encoded (too long).
pub fn svg(data: &str) -> String {
    match QrCode::new(data.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(160, 160)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode a QR code");
            String::new()
        }
    }
}
