//! A list kept serialized and compressed in blocks, read back item by item.
//!
//! A run can render one action per failing container, and each is some hundred bytes of
//! text that differs from the next in a name or two: held as values, they were the largest
//! part of memory when nearly every container fails. Serialized one after another and
//! compressed a block at a time, what repeats from item to item is stored once per block.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Uncompressed bytes gathered before a block is compressed: large enough for repeats across
/// items to be found, small enough that reading one item back stays cheap.
const BLOCK: usize = 32 * 1024;

/// A block being filled shorter than this is not compressed when the list is shrunk.
const SHORT: usize = 1024;

pub struct Packed<T> {
    /// Compressed blocks and the index of each one's first item.
    blocks: Vec<(usize, Arc<[u8]>)>,
    /// The block being filled, uncompressed; its first item's index.
    tail: Vec<u8>,
    tail_first: usize,
    /// Where each item starts in its block's uncompressed bytes.
    starts: Vec<u32>,
    /// The block read last, uncompressed: items are mostly read in order.
    cache: Mutex<Option<(usize, Arc<[u8]>)>>,
    _items: PhantomData<fn() -> T>,
}

impl<T> Default for Packed<T> {
    fn default() -> Self {
        Packed {
            blocks: Vec::new(),
            tail: Vec::new(),
            tail_first: 0,
            starts: Vec::new(),
            cache: Mutex::new(None),
            _items: PhantomData,
        }
    }
}

impl<T> Clone for Packed<T> {
    fn clone(&self) -> Self {
        Packed {
            blocks: self.blocks.clone(),
            tail: self.tail.clone(),
            tail_first: self.tail_first,
            starts: self.starts.clone(),
            cache: Mutex::new(None),
            _items: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Packed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Packed({} items in {} blocks)",
            self.starts.len(),
            self.blocks.len() + 1
        )
    }
}

fn compress(bytes: &[u8]) -> Arc<[u8]> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a vector cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default().into()
}

fn decompress(bytes: &[u8]) -> Arc<[u8]> {
    use std::io::Read;
    let mut out = Vec::with_capacity(BLOCK * 2);
    // These bytes were compressed by `compress` in this process.
    let _ = flate2::read::DeflateDecoder::new(bytes).read_to_end(&mut out);
    out.into()
}

impl<T: Serialize + DeserializeOwned> Packed<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Add an item; its index is the length before.
    pub fn push(&mut self, item: &T) -> usize {
        if self.tail.len() >= BLOCK {
            self.seal();
        }
        let i = self.starts.len();
        self.starts.push(self.tail.len() as u32);
        // The types kept here serialize to JSON without fail (string keys, finite numbers).
        let _ = serde_json::to_writer(&mut self.tail, item);
        i
    }

    /// Compress the block being filled: no spare room is kept either. A short one is kept
    /// as it is (a list of one or two items, as most findings' subjects are): compressing a
    /// few hundred bytes saves little, and a block is one more allocation.
    pub fn shrink_to_fit(&mut self) {
        if self.tail.len() >= SHORT {
            self.seal();
        } else {
            self.tail.shrink_to_fit();
        }
        self.blocks.shrink_to_fit();
        self.starts.shrink_to_fit();
    }

    fn seal(&mut self) {
        let block = compress(&self.tail);
        self.blocks.push((self.tail_first, block));
        self.tail = Vec::new();
        self.tail_first = self.starts.len();
    }

    /// The block of item `i` (`None`: the tail) and its first item.
    fn block_of(&self, i: usize) -> (Option<usize>, usize) {
        if i >= self.tail_first {
            return (None, self.tail_first);
        }
        let b = self.blocks.partition_point(|(first, _)| *first <= i) - 1;
        (Some(b), self.blocks[b].0)
    }

    /// The end of item `i` in its block of `len` bytes whose items end at `next_first`.
    fn end_of(&self, i: usize, next_first: usize, len: usize) -> usize {
        if i + 1 < next_first {
            self.starts[i + 1] as usize
        } else {
            len
        }
    }

    fn decode(bytes: &[u8]) -> T {
        match serde_json::from_slice(bytes) {
            Ok(v) => v,
            // Only bytes `push` wrote are read: a failure here is a bug in a type's serde.
            Err(e) => panic!("a packed item did not read back: {e}"),
        }
    }

    pub fn get(&self, i: usize) -> Option<T> {
        if i >= self.len() {
            return None;
        }
        let start = self.starts[i] as usize;
        match self.block_of(i) {
            (None, _) => {
                let end = self.end_of(i, self.len(), self.tail.len());
                Some(Self::decode(&self.tail[start..end]))
            }
            (Some(b), _) => {
                let next_first = self.blocks.get(b + 1).map_or(self.tail_first, |(f, _)| *f);
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                let bytes = match &*cache {
                    Some((at, bytes)) if *at == b => bytes.clone(),
                    _ => {
                        let bytes = decompress(&self.blocks[b].1);
                        *cache = Some((b, bytes.clone()));
                        bytes
                    }
                };
                drop(cache);
                let end = self.end_of(i, next_first, bytes.len());
                Some(Self::decode(&bytes[start..end]))
            }
        }
    }

    /// Every item in order, each block uncompressed once.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let mut block: Option<(usize, Arc<[u8]>)> = None;
        (0..self.len()).map(move |i| {
            let (b, _) = self.block_of(i);
            let start = self.starts[i] as usize;
            match b {
                None => {
                    let end = self.end_of(i, self.len(), self.tail.len());
                    Self::decode(&self.tail[start..end])
                }
                Some(b) => {
                    let bytes = match &block {
                        Some((at, bytes)) if *at == b => bytes.clone(),
                        _ => {
                            let bytes = decompress(&self.blocks[b].1);
                            block = Some((b, bytes.clone()));
                            bytes
                        }
                    };
                    let next_first = self.blocks.get(b + 1).map_or(self.tail_first, |(f, _)| *f);
                    let end = self.end_of(i, next_first, bytes.len());
                    Self::decode(&bytes[start..end])
                }
            }
        })
    }

    /// Each item replaced by what `f` makes of it, in order.
    pub fn map_in_place(&mut self, mut f: impl FnMut(&mut T)) {
        let mut out = Packed::new();
        for mut item in self.iter() {
            f(&mut item);
            out.push(&item);
        }
        out.shrink_to_fit();
        *self = out;
    }

    /// Bytes held (compressed blocks, the open block and the item index), for tests and tuning.
    pub fn held_bytes(&self) -> usize {
        self.blocks.iter().map(|(_, b)| b.len()).sum::<usize>() + self.tail.capacity() + self.starts.capacity() * 4
    }
}

impl<T: Serialize + DeserializeOwned> FromIterator<T> for Packed<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut p = Packed::new();
        for item in items {
            p.push(&item);
        }
        p.shrink_to_fit();
        p
    }
}

// A sequence, as a `Vec` of the items is: written item by item, never whole.
impl<T: Serialize + DeserializeOwned> Serialize for Packed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Serialize + DeserializeOwned> serde::Deserialize<'de> for Packed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T>(PhantomData<fn() -> T>);
        impl<'de, T: Serialize + DeserializeOwned> serde::de::Visitor<'de> for Items<T> {
            type Value = Packed<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Packed<T>, A::Error> {
                let mut p = Packed::new();
                while let Some(item) = seq.next_element::<T>()? {
                    p.push(&item);
                }
                p.shrink_to_fit();
                Ok(p)
            }
        }
        d.deserialize_seq(Items(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Step {
        title: String,
        commands: Vec<String>,
        n: u64,
    }

    fn step(i: u64) -> Step {
        Step {
            title: format!("read quay.io's answer for quay.io/acme/c{i}:1"),
            commands: vec![format!("skopeo inspect docker://quay.io/acme/c{i}:1")],
            n: i,
        }
    }

    #[test]
    fn items_read_back_in_any_order_across_blocks() {
        let mut p = Packed::new();
        for i in 0..5_000 {
            assert_eq!(p.push(&step(i)), i as usize);
        }
        assert_eq!(p.len(), 5_000);
        // Several blocks were sealed, and the open one still holds the last items.
        assert!(p.blocks.len() > 3, "{p:?}");
        for i in [0u64, 4_999, 1, 2_500, 2_499, 17, 4_998, 0] {
            assert_eq!(p.get(i as usize), Some(step(i)));
        }
        assert_eq!(p.get(5_000), None);
        let all: Vec<Step> = p.iter().collect();
        assert_eq!(all, (0..5_000).map(step).collect::<Vec<_>>());
        p.shrink_to_fit();
        assert_eq!(p.get(4_999), Some(step(4_999)));
        assert_eq!(p.iter().count(), 5_000);
        let copy = p.clone();
        assert_eq!(copy.get(1_234), Some(step(1_234)));
    }

    // A plan's actions are a packed list: written and read as the JSON array a `Vec` makes,
    // and changed in place for redaction.
    #[test]
    fn a_packed_list_is_a_sequence_in_serde_and_maps_in_place() {
        let items: Vec<Step> = (0..3_000).map(step).collect();
        let mut p: Packed<Step> = items.iter().cloned().collect();
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&items).unwrap()
        );
        let back: Packed<Step> = serde_json::from_str(&serde_json::to_string(&items).unwrap()).unwrap();
        assert_eq!(back.iter().collect::<Vec<_>>(), items);
        assert!(serde_json::from_str::<Packed<Step>>("{}").is_err());
        p.map_in_place(|s| s.title = s.title.replace("quay.io", "mirror"));
        assert_eq!(p.len(), 3_000);
        assert_eq!(
            p.get(2_999).unwrap().title,
            "read mirror's answer for mirror/acme/c2999:1"
        );
        assert_eq!(p.get(0).unwrap().n, 0);
    }

    /// What repeats from item to item is stored once per block: the point of the type.
    #[test]
    fn repeated_text_is_held_compressed() {
        let mut p = Packed::new();
        let mut plain = 0;
        for i in 0..10_000 {
            plain += serde_json::to_vec(&step(i)).unwrap().len();
            p.push(&step(i));
        }
        p.shrink_to_fit();
        assert!(p.held_bytes() * 5 < plain, "{} held for {plain}", p.held_bytes());
    }

    /// A list of one or two items (most findings' subjects) is not compressed: a block would
    /// hold about as much and cost an allocation more.
    #[test]
    fn a_short_list_is_kept_as_it_is_and_reads_back() {
        let mut p: Packed<Step> = (0..2).map(step).collect();
        assert!(p.blocks.is_empty(), "{p:?}");
        assert_eq!(p.tail.len(), p.tail.capacity());
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![step(0), step(1)]);
        p.push(&step(2));
        assert_eq!(p.get(2), Some(step(2)));
        let long: Packed<Step> = (0..200).map(step).collect();
        assert!(!long.blocks.is_empty() && long.tail.is_empty(), "{long:?}");
    }

    #[test]
    fn an_empty_list_reads_nothing() {
        let mut p: Packed<Step> = Packed::new();
        assert!(p.is_empty());
        assert_eq!(p.get(0), None);
        p.shrink_to_fit();
        assert_eq!(p.iter().count(), 0);
    }
}
