//! [`Block`]: the value of a Block1 or Block2 option (RFC 7959 §2.2), `NUM << 4 | M << 3 | SZX`.

use core::fmt;

use super::error::BlockError;

/// A Block1/Block2 option value: block number, more flag and size exponent.
///
/// The constructors refuse SZX 7 (reserved) and block numbers beyond 20 bits, so every `Block`
/// encodes into the 0-3 byte option the RFC allows.
///
/// ```
/// use lwm2m_codec::coap::Block;
/// let b = Block::new(639, false, 3).unwrap();
/// assert_eq!((b.size(), b.offset(), b.value()), (128, 81_792, 10_227));
/// assert_eq!(Block::from_value(10_227), Ok(b));
/// assert!(Block::from_value(0x0F).is_err()); // SZX 7
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block {
    num: u32,
    more: bool,
    szx: u8,
}

impl Block {
    /// Largest block number (20 bits).
    pub const MAX_NUM: u32 = (1 << 20) - 1;
    /// Largest size exponent (6: 1024-byte blocks).
    pub const MAX_SZX: u8 = 6;
    /// Largest block size in bytes.
    pub const MAX_SIZE: u32 = 1024;

    /// Block `num` of `2^(szx+4)` bytes, with the more flag `more`.
    pub const fn new(num: u32, more: bool, szx: u8) -> Result<Block, BlockError> {
        if szx == 7 {
            return Err(BlockError::ReservedSzx);
        }
        if szx > Self::MAX_SZX {
            return Err(BlockError::SzxOutOfRange { szx });
        }
        if num > Self::MAX_NUM {
            return Err(BlockError::NumTooLarge { num });
        }
        Ok(Block { num, more, szx })
    }

    /// Block `num` of `size` bytes (16, 32, 64, 128, 256, 512 or 1024).
    pub const fn with_size(num: u32, more: bool, size: u32) -> Result<Block, BlockError> {
        match Self::szx_for_size(size) {
            Ok(szx) => Self::new(num, more, szx),
            Err(e) => Err(e),
        }
    }

    /// The block of `2^(szx+4)` bytes that starts at byte `offset`, which is how a sender
    /// renumbers after the peer asked for smaller blocks (RFC 7959 §2.5). A misaligned offset
    /// gives the block containing it.
    pub const fn at_offset(offset: u32, more: bool, szx: u8) -> Result<Block, BlockError> {
        if szx > Self::MAX_SZX {
            return Self::new(0, more, szx);
        }
        Self::new(offset >> (szx + 4), more, szx)
    }

    /// The exponent for a block size, e.g. 1024 → 6.
    pub const fn szx_for_size(size: u32) -> Result<u8, BlockError> {
        match size {
            16 => Ok(0),
            32 => Ok(1),
            64 => Ok(2),
            128 => Ok(3),
            256 => Ok(4),
            512 => Ok(5),
            1024 => Ok(6),
            _ => Err(BlockError::InvalidSize { size }),
        }
    }

    /// Decodes an option value (the `uint` of a 0-3 byte Block option).
    pub const fn from_value(value: u32) -> Result<Block, BlockError> {
        if value > 0x00FF_FFFF {
            return Err(BlockError::ValueTooLarge { value });
        }
        Self::new(value >> 4, value & 0x8 != 0, (value & 0x7) as u8)
    }

    /// The option value `NUM << 4 | M << 3 | SZX`.
    #[inline]
    pub const fn value(self) -> u32 {
        (self.num << 4) | ((self.more as u32) << 3) | self.szx as u32
    }

    /// Block number.
    #[inline]
    pub const fn num(self) -> u32 {
        self.num
    }

    /// Whether more blocks follow (M).
    #[inline]
    pub const fn more(self) -> bool {
        self.more
    }

    /// Size exponent (0-6).
    #[inline]
    pub const fn szx(self) -> u8 {
        self.szx
    }

    /// Block size in bytes: `2^(szx+4)`.
    #[inline]
    pub const fn size(self) -> u32 {
        1 << (self.szx + 4)
    }

    /// Offset of the block's first byte in the whole body: `num × size` (at most
    /// 2^20 × 1024 − 1024, so it fits in `u32`).
    #[inline]
    pub const fn offset(self) -> u32 {
        self.num << (self.szx + 4)
    }

    /// The same block with another more flag.
    #[inline]
    #[must_use]
    pub const fn with_more(self, more: bool) -> Block {
        Block { more, ..self }
    }

    /// The following block of the same size (more flag unchanged), or `None` past the 20-bit
    /// block number.
    pub const fn next(self) -> Option<Block> {
        if self.num >= Self::MAX_NUM {
            None
        } else {
            Some(Block {
                num: self.num + 1,
                ..self
            })
        }
    }
}

impl fmt::Display for Block {
    /// The usual `NUM/M/SIZE` notation, e.g. `2/1/128`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.num, u8::from(self.more), self.size())
    }
}

impl TryFrom<u32> for Block {
    type Error = BlockError;

    fn try_from(value: u32) -> Result<Block, BlockError> {
        Block::from_value(value)
    }
}

impl From<Block> for u32 {
    fn from(block: Block) -> u32 {
        block.value()
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn constructors_refuse_unrepresentable_blocks() {
        assert_eq!(Block::new(0, false, 7), Err(BlockError::ReservedSzx));
        assert_eq!(
            Block::new(0, false, 9),
            Err(BlockError::SzxOutOfRange { szx: 9 })
        );
        assert_eq!(
            Block::new(1 << 20, false, 0),
            Err(BlockError::NumTooLarge { num: 1 << 20 })
        );
        assert_eq!(
            Block::from_value(0x0100_0000),
            Err(BlockError::ValueTooLarge { value: 0x0100_0000 })
        );
        assert_eq!(
            Block::with_size(0, false, 100),
            Err(BlockError::InvalidSize { size: 100 })
        );
        assert!(Block::new(Block::MAX_NUM, true, 6).is_ok());
    }

    #[test]
    fn sizes_and_offsets() {
        for szx in 0..=6 {
            let b = Block::new(3, true, szx).unwrap();
            assert_eq!(b.size(), 16 << szx);
            assert_eq!(Block::szx_for_size(b.size()), Ok(szx));
            assert_eq!(b.offset(), 3 * b.size());
        }
        let last = Block::new(Block::MAX_NUM, false, 6).unwrap();
        assert_eq!(last.offset(), Block::MAX_NUM * 1024);
        assert_eq!(last.next(), None);
    }

    #[test]
    fn renumbering_for_a_smaller_size() {
        // 1024-byte block 2 starts at 2048, which is 128-byte block 16.
        let big = Block::new(2, true, 6).unwrap();
        let small = Block::at_offset(big.offset(), true, 3).unwrap();
        assert_eq!((small.num(), small.offset()), (16, 2048));
        assert_eq!(Block::at_offset(0, false, 7), Err(BlockError::ReservedSzx));
    }

    #[test]
    fn next_and_with_more() {
        let b = Block::new(0, true, 2).unwrap();
        let n = b.next().unwrap().with_more(false);
        assert_eq!((n.num(), n.more(), n.szx()), (1, false, 2));
        assert_eq!(n.to_string(), "1/0/64");
    }
}
