//! Files attached to messages: what a file is (from its bytes, never from
//! its name or a declared type), whether a workspace takes it, and the
//! reference a message carries.

use serde::{Deserialize, Serialize};

use crate::model::ids::AttachmentId;

/// The largest file by default, in bytes (a workspace may lower it).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The most attachments on one message.
pub const MAX_PER_MESSAGE: usize = 10;
/// The longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// An image's largest side and area in pixels: the browsers that show it
/// decode it whole, so a small file that unpacks to a huge image (a
/// decompression bomb) is refused before anyone's browser sees it. The
/// server itself never decodes an image, only reads its header.
pub const MAX_IMAGE_SIDE: u32 = 12_000;
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;

/// What a message says about a file attached to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentRef {
    pub id: AttachmentId,
    /// The name it was uploaded with, cleaned.
    pub name: String,
    /// The type its bytes show.
    pub content_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl AttachmentRef {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// The kinds of file a workspace may take, each a group of the types
/// `sniff` recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// PNG, JPEG, GIF and WebP images.
    Image,
    Pdf,
    /// Plain text.
    Text,
    Zip,
    /// Word, Excel and PowerPoint documents (Office Open XML).
    Office,
}

impl FileKind {
    pub const ALL: [FileKind; 5] = [
        FileKind::Image,
        FileKind::Pdf,
        FileKind::Text,
        FileKind::Zip,
        FileKind::Office,
    ];

    /// The kind of a type `sniff` answered.
    pub fn of(content_type: &str) -> FileKind {
        match content_type {
            t if t.starts_with("image/") => FileKind::Image,
            "application/pdf" => FileKind::Pdf,
            "text/plain" => FileKind::Text,
            "application/zip" => FileKind::Zip,
            _ => FileKind::Office,
        }
    }

    /// The types of this kind, as `sniff` names them.
    pub fn content_types(self) -> impl Iterator<Item = &'static str> {
        TAKEN
            .iter()
            .copied()
            .chain(["text/plain"])
            .filter(move |t| FileKind::of(t) == self)
    }

    pub fn label(self) -> &'static str {
        match self {
            FileKind::Image => "images",
            FileKind::Pdf => "PDF",
            FileKind::Text => "text",
            FileKind::Zip => "ZIP",
            FileKind::Office => "Office documents",
        }
    }
}

/// What a workspace takes as attachments: files up to `max_bytes` (at
/// most the server's own limit), of `kinds` (none: attachments are off).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentSettings {
    pub max_bytes: u64,
    pub kinds: Vec<FileKind>,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        AttachmentSettings {
            max_bytes: DEFAULT_MAX_BYTES,
            kinds: FileKind::ALL.to_vec(),
        }
    }
}

impl AttachmentSettings {
    /// Whether a file `sniff` recognised is taken here.
    pub fn takes(&self, sniffed: &Sniffed) -> Result<(), String> {
        if self.kinds.contains(&FileKind::of(sniffed.content_type)) {
            return Ok(());
        }
        if self.kinds.is_empty() {
            return Err("this workspace takes no attachments".to_owned());
        }
        let kinds: Vec<&str> = self.kinds.iter().map(|k| k.label()).collect();
        Err(format!(
            "files of this kind are not taken here; this workspace takes {}",
            kinds.join(", ")
        ))
    }

    /// The largest file taken, within the server's limit.
    pub fn limit(&self, server_max_bytes: u64) -> u64 {
        self.max_bytes.min(server_max_bytes)
    }
}

/// What a file's bytes are, when a workspace takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: &'static str,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Why a file is refused (each names the `file` field).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the file is empty")]
    Empty,
    #[error(
        "files of this kind are not taken: images (PNG, JPEG, GIF, WebP), PDF, text, ZIP and Office documents are"
    )]
    Kind,
    #[error(
        "the image is {0} × {1} pixels: at most {MAX_IMAGE_SIDE} a side and {MAX_IMAGE_PIXELS} in all"
    )]
    TooManyPixels(u32, u32),
    #[error("the image's header cannot be read")]
    BadImage,
}

/// The types taken, by what `infer` names them.
const TAKEN: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

/// What `bytes` are: a taken type by its magic numbers, or plain text
/// (valid UTF-8 with no NUL and few control characters). Images also get
/// their size from their header, within the bounds above.
pub fn sniff(bytes: &[u8]) -> Result<Sniffed, Refused> {
    if bytes.is_empty() {
        return Err(Refused::Empty);
    }
    let found = infer::get(bytes).map(|kind| kind.mime_type());
    let content_type = match found {
        Some(kind) => TAKEN
            .iter()
            .copied()
            .find(|taken| *taken == kind)
            .ok_or(Refused::Kind)?,
        None if is_text(bytes) => "text/plain",
        None => return Err(Refused::Kind),
    };
    if !content_type.starts_with("image/") {
        return Ok(Sniffed {
            content_type,
            width: None,
            height: None,
        });
    }
    let size = imagesize::blob_size(bytes).map_err(|_| Refused::BadImage)?;
    let (width, height) = (
        u32::try_from(size.width).map_err(|_| Refused::BadImage)?,
        u32::try_from(size.height).map_err(|_| Refused::BadImage)?,
    );
    if width == 0
        || height == 0
        || width > MAX_IMAGE_SIDE
        || height > MAX_IMAGE_SIDE
        || u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS
    {
        return Err(Refused::TooManyPixels(width, height));
    }
    Ok(Sniffed {
        content_type,
        width: Some(width),
        height: Some(height),
    })
}

fn is_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
        .count();
    // Markup (HTML, SVG, XML) is not plain text: a browser could be made
    // to run it.
    let markup = text.trim_start().starts_with('<');
    !markup && !text.contains('\0') && controls * 100 <= text.len()
}

/// A file name as kept: the last path segment, without control characters
/// or quotes, at most `MAX_NAME_CHARS`; `file` when nothing is left.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\u{2028}' | '\u{2029}'))
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG's signature and header chunk: enough for its type and size.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        bytes.extend(13u32.to_be_bytes());
        bytes.extend(b"IHDR");
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0]);
        bytes.extend([0; 4]);
        bytes
    }

    #[test]
    fn the_bytes_say_what_a_file_is() {
        let png = sniff(&png_header(640, 480)).unwrap();
        assert_eq!(png.content_type, "image/png");
        assert_eq!((png.width, png.height), (Some(640), Some(480)));
        assert_eq!(
            sniff(b"%PDF-1.7\n...").unwrap().content_type,
            "application/pdf"
        );
        assert_eq!(
            sniff("héllo\nwörld\n".as_bytes()).unwrap().content_type,
            "text/plain"
        );
    }

    #[test]
    fn what_is_not_taken_is_refused() {
        assert_eq!(sniff(b""), Err(Refused::Empty));
        // An executable, whatever it is called.
        assert_eq!(
            sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
            Err(Refused::Kind)
        );
        // Binary that is no known type, and text with NULs.
        assert_eq!(sniff(&[0xff, 0x00, 0x13, 0x37, 0x00]), Err(Refused::Kind));
        assert_eq!(sniff(b"a\0b"), Err(Refused::Kind));
        // Markup, which a browser could run, whatever it is called.
        assert_eq!(sniff(b"  <svg onload=alert(1)>"), Err(Refused::Kind));
        // A decompression bomb's promise: a small file, a huge image.
        assert_eq!(
            sniff(&png_header(50_000, 50_000)),
            Err(Refused::TooManyPixels(50_000, 50_000))
        );
        assert_eq!(
            sniff(&png_header(10_000, 9_000)),
            Err(Refused::TooManyPixels(10_000, 9_000))
        );
        assert_eq!(
            sniff(&png_header(0, 10)),
            Err(Refused::TooManyPixels(0, 10))
        );
    }

    #[test]
    fn a_workspace_takes_only_its_kinds() {
        let png = sniff(&png_header(10, 10)).unwrap();
        let pdf = sniff(b"%PDF-1.7\n...").unwrap();
        let all = AttachmentSettings::default();
        assert_eq!(all.takes(&png), Ok(()));
        assert_eq!(all.takes(&pdf), Ok(()));
        let images = AttachmentSettings {
            kinds: vec![FileKind::Image],
            ..all.clone()
        };
        assert_eq!(images.takes(&png), Ok(()));
        assert!(images.takes(&pdf).unwrap_err().contains("takes images"));
        let none = AttachmentSettings {
            kinds: vec![],
            ..all
        };
        assert!(none.takes(&png).unwrap_err().contains("no attachments"));
        assert_eq!(images.limit(1024), 1024);
        assert_eq!(images.limit(u64::MAX), DEFAULT_MAX_BYTES);
        // Every type sniff takes has a kind that names it.
        let named: usize = FileKind::ALL
            .iter()
            .map(|k| k.content_types().count())
            .sum();
        assert_eq!(named, TAKEN.len() + 1);
    }

    #[test]
    fn names_keep_their_last_segment_cleaned() {
        assert_eq!(clean_name("C:\\Users\\ada\\report.pdf"), "report.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\"b\r\n.png"), "ab.png");
        assert_eq!(clean_name("  .hidden "), "hidden");
        assert_eq!(clean_name("/"), "file");
        assert_eq!(clean_name(&"x".repeat(300)).chars().count(), MAX_NAME_CHARS);
    }
}
