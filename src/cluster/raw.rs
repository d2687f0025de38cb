//! An object's JSON text, kept compressed with its neighbours once its file is read.
//!
//! The text of every object of a snapshot is kept for the whole run (probes read any object
//! again), and it was the largest part of a dense snapshot's memory: as much again as the
//! file. Objects are read far less often than they are kept, and objects of one kind repeat
//! most of their text, so runs of them are compressed together in blocks (LZ4: it reads back
//! at several GB/s) and a block is decompressed when one of its objects is read. The last few
//! small blocks read are kept decompressed per thread, as readers walk objects in order.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Texts are gathered into a block until it holds this much; a larger object is a block of
/// its own.
pub(crate) const BLOCK: usize = 64 * 1024;

/// Blocks kept decompressed per thread, and the largest kept: a larger block (one large
/// object) is decompressed on each read, which its own reads (kept by path, see `fields`)
/// make rare.
const CACHED: usize = 4;
const CACHED_MAX: usize = 4 * BLOCK;

/// Compressed texts of consecutive objects.
pub(crate) struct Block {
    // Identifies the block in the caches: an address could be reused by a later block.
    id: u64,
    len: u32,
    data: Box<[u8]>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static CACHE: RefCell<VecDeque<(u64, Arc<str>)>> = const { RefCell::new(VecDeque::new()) };
}

impl Block {
    fn decompress(&self) -> Arc<str> {
        match lz4_flex::block::decompress(&self.data, self.len as usize)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        {
            Some(s) => s.into(),
            // Made from valid text by this process: cannot happen, and an empty object reads
            // as no object rather than panicking.
            None => Arc::from(""),
        }
    }

    fn text(&self) -> Arc<str> {
        let cached = CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let at = c.iter().position(|(id, _)| *id == self.id)?;
            let hit = c.remove(at)?;
            let text = hit.1.clone();
            c.push_front(hit);
            Some(text)
        });
        if let Some(text) = cached {
            return text;
        }
        let text = self.decompress();
        if text.len() <= CACHED_MAX {
            CACHE.with(|c| {
                let mut c = c.borrow_mut();
                c.push_front((self.id, text.clone()));
                c.truncate(CACHED);
            });
        }
        text
    }
}

/// The text of one object: plain, or a range of a compressed block.
#[derive(Clone)]
pub(crate) enum Raw {
    Plain(Box<str>),
    Packed { block: Arc<Block>, start: u32, len: u32 },
}

impl Raw {
    pub(crate) fn text(&self) -> RawText<'_> {
        match self {
            Raw::Plain(s) => RawText(Inner::Plain(s)),
            Raw::Packed { block, start, len } => RawText(Inner::Shared(block.text(), *start, *len)),
        }
    }

    /// The length of the text, without reading it.
    pub(crate) fn len(&self) -> usize {
        match self {
            Raw::Plain(s) => s.len(),
            Raw::Packed { len, .. } => *len as usize,
        }
    }

    /// The block holding the text, if packed (tests of the order of blocks).
    #[cfg(test)]
    pub(crate) fn block_id(&self) -> Option<u64> {
        match self {
            Raw::Packed { block, .. } => Some(block.id),
            Raw::Plain(_) => None,
        }
    }

    fn is_plain(&self) -> bool {
        matches!(self, Raw::Plain(_))
    }
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.text(), f)
    }
}

/// An object's text as read: borrowed, or a share of its decompressed block.
pub struct RawText<'a>(Inner<'a>);

enum Inner<'a> {
    Plain(&'a str),
    Shared(Arc<str>, u32, u32),
}

impl Deref for RawText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            Inner::Plain(s) => s,
            Inner::Shared(block, start, len) => {
                let (start, len) = (*start as usize, *len as usize);
                block.get(start..start + len).unwrap_or("")
            }
        }
    }
}

impl std::fmt::Display for RawText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// Compress the plain texts of `raws`, in order, into blocks of about `BLOCK` bytes; packed
/// ones are left as they are.
pub(crate) fn pack<'a>(raws: impl Iterator<Item = &'a mut Raw>) {
    let mut run: Vec<&'a mut Raw> = Vec::new();
    let mut text = String::new();
    for raw in raws.filter(|r| r.is_plain()) {
        if !run.is_empty() && text.len() + raw.len() > BLOCK {
            seal(&mut run, &mut text);
        }
        if let Raw::Plain(s) = &*raw {
            text.push_str(s);
        }
        run.push(raw);
    }
    seal(&mut run, &mut text);
}

/// Compress `raws` again in their order when it is not the order of their blocks (a file's
/// objects are packed as they are read, and read back in the order of their lists): else a
/// walk of the list would decompress a block for each object.
pub(crate) fn repack(mut raws: Vec<&mut Raw>) {
    let ids = raws.iter().map(|r| match r {
        Raw::Packed { block, .. } => Some(block.id),
        Raw::Plain(_) => None,
    });
    let mut distinct = std::collections::HashSet::new();
    let mut changes = 0usize;
    let mut last = None;
    for id in ids {
        if id != last {
            changes += 1;
            last = id;
        }
        distinct.insert(id);
    }
    // In order: each block is met once (a few more for a list made of several files).
    if changes <= 2 * distinct.len() {
        return;
    }
    // Each block once, for as long as the new blocks are made.
    let mut plain: std::collections::HashMap<u64, Arc<str>> = std::collections::HashMap::new();
    let mut run: Vec<&mut Raw> = Vec::new();
    let mut text = String::new();
    for raw in raws.drain(..) {
        if !run.is_empty() && text.len() + raw.len() > BLOCK {
            seal(&mut run, &mut text);
        }
        match &*raw {
            Raw::Plain(s) => text.push_str(s),
            Raw::Packed { block, start, len } => {
                let whole = plain.entry(block.id).or_insert_with(|| block.decompress());
                let (start, len) = (*start as usize, *len as usize);
                text.push_str(whole.get(start..start + len).unwrap_or(""));
            }
        }
        run.push(raw);
    }
    seal(&mut run, &mut text);
}

fn seal(run: &mut Vec<&mut Raw>, text: &mut String) {
    if run.is_empty() {
        return;
    }
    // Offsets are u32: a text past 4 GiB (beyond every read limit) stays plain.
    let Ok(len) = u32::try_from(text.len()) else {
        run.clear();
        text.clear();
        return;
    };
    let block = Arc::new(Block {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        len,
        data: lz4_flex::block::compress(text.as_bytes()).into_boxed_slice(),
    });
    let mut start = 0u32;
    for raw in run.drain(..) {
        let n = raw.len() as u32;
        *raw = Raw::Packed {
            block: block.clone(),
            start,
            len: n,
        };
        start += n;
    }
    text.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_texts_read_back_as_they_were_in_blocks_of_about_a_block() {
        let texts: Vec<String> = (0..3000)
            .map(|i| {
                format!(
                    "{{\"kind\":\"Pod\",\"metadata\":{{\"name\":\"p{i}\",\"ünï\":\"{}\"}}}}",
                    "x".repeat(i % 97)
                )
            })
            .chain(std::iter::once("y".repeat(3 * BLOCK)))
            .collect();
        let mut raws: Vec<Raw> = texts.iter().map(|t| Raw::Plain(t.as_str().into())).collect();
        // One already packed is left in its block.
        pack(raws[10..11].iter_mut());
        pack(raws.iter_mut());
        let mut blocks = std::collections::BTreeSet::new();
        for (raw, text) in raws.iter().zip(&texts) {
            assert_eq!(&*raw.text(), text.as_str());
            assert_eq!(raw.len(), text.len());
            let Raw::Packed { block, .. } = raw else {
                panic!("left plain: {text}")
            };
            blocks.insert(block.id);
        }
        let total: usize = texts.iter().map(String::len).sum();
        // Full blocks, the one packed alone and the large text's own.
        assert!(
            blocks.len() <= total / BLOCK + 3,
            "{} blocks for {total} bytes",
            blocks.len()
        );
        assert!(
            blocks.len() >= total / BLOCK,
            "{} blocks for {total} bytes",
            blocks.len()
        );
        // Read back out of order, past what the cache keeps.
        for i in (0..raws.len()).rev().step_by(7) {
            assert_eq!(&*raws[i].text(), texts[i].as_str());
        }
    }

    fn block_changes(raws: &[&Raw]) -> usize {
        let ids: Vec<u64> = raws
            .iter()
            .map(|r| match r {
                Raw::Packed { block, .. } => block.id,
                Raw::Plain(_) => panic!("plain"),
            })
            .collect();
        1 + ids.windows(2).filter(|w| w[0] != w[1]).count()
    }

    #[test]
    fn texts_read_in_another_order_than_packed_are_packed_again_in_that_order() {
        let texts: Vec<String> = (0..4000)
            .map(|i| format!("{{\"name\":\"p{i}\",\"pad\":\"{}\"}}", "z".repeat(600)))
            .collect();
        let mut raws: Vec<Raw> = texts.iter().map(|t| Raw::Plain(t.as_str().into())).collect();
        pack(raws.iter_mut());
        // Read by a stride that crosses blocks at every step.
        let order: Vec<usize> = (0..200).flat_map(|k| (k..4000).step_by(200)).collect();
        let before = block_changes(&order.iter().map(|&i| &raws[i]).collect::<Vec<_>>());
        assert!(before > 3000, "{before}");
        let mut by_order: Vec<Option<&mut Raw>> = raws.iter_mut().map(Some).collect();
        repack(order.iter().map(|&i| by_order[i].take().unwrap()).collect());
        let walked: Vec<&Raw> = order.iter().map(|&i| &raws[i]).collect();
        let total: usize = texts.iter().map(String::len).sum();
        assert!(
            block_changes(&walked) <= total / BLOCK + 2,
            "{}",
            block_changes(&walked)
        );
        for (raw, text) in raws.iter().zip(&texts) {
            assert_eq!(&*raw.text(), text.as_str());
        }
        // Already in order: left as it is.
        let ids = |raws: &[Raw]| -> Vec<u64> {
            raws.iter()
                .map(|r| match r {
                    Raw::Packed { block, .. } => block.id,
                    Raw::Plain(_) => 0,
                })
                .collect()
        };
        let kept = ids(&raws);
        let mut by_order: Vec<Option<&mut Raw>> = raws.iter_mut().map(Some).collect();
        repack(order.iter().map(|&i| by_order[i].take().unwrap()).collect());
        assert_eq!(ids(&raws), kept);
    }
}
