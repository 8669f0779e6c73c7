// The byte tags and header of Apple's typedstream (NSArchiver) format, as chatdb.md §4.2–4.3 lists them.

/** An integer follows in the next 2 bytes, little-endian. */
export const TAG_INT16 = 0x81;
/** An integer follows in the next 4 bytes, little-endian. */
export const TAG_INT32 = 0x82;
/** A float (4 bytes) or double (8 bytes) follows, little-endian. */
export const TAG_FLOAT = 0x83;
/** NEW: a literal string, class or object follows. */
export const TAG_NEW = 0x84;
/** NIL: a null object, class or string; also ends a class chain. */
export const TAG_NIL = 0x85;
/** END of an object's contents. */
export const TAG_END = 0x86;
/** An integer follows in the next 8 bytes, little-endian (64-bit NSNumbers). */
export const TAG_INT64 = 0x87;
/** Lowest and highest byte reserved for tags; nothing else in this range is valid. */
export const TAG_MIN = 0x80;
export const TAG_MAX = 0x91;
/** A back-reference byte b means table index (signed b) + REFERENCE_BIAS: 0x92 → 0. */
export const REFERENCE_BIAS = 110;

/** `04 0B "streamtyped" 81 E8 03`: version 4, little-endian signature, system version 1000. */
export const HEADER = Buffer.from([
  0x04, 0x0b, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x74, 0x79, 0x70, 0x65, 0x64, 0x81, 0xe8, 0x03,
]);

/** A UTF-16LE byte-order mark: some macOS 26 tools reportedly store plain UTF-16LE text instead. */
export const UTF16LE_BOM_0 = 0xff;
export const UTF16LE_BOM_1 = 0xfe;
