using System.Text;
using Gguf.Format;
using Gguf.Testing;

namespace Gguf.Tests.Format.Hostile;

/// <summary>One malformed file and the rejection it must get: the specific code and the offending field's offset.</summary>
/// <param name="Name">The case name, used as the test case's display name.</param>
/// <param name="Reference">Where the class comes from: reference §8 or a CVE of §6.</param>
internal sealed record MalformedCase(string Name, string Reference, byte[] File, GgufErrorCode Code, long Offset, GgufReaderOptions? Options = null)
{
    public override string ToString() => Name;
}

/// <summary>
/// The malformed-file catalogue: every input class of reference §8 and every CVE class of §6, generated
/// with <see cref="RawGguf"/>. Each case says which code and offset the reader must report.
/// </summary>
internal static class MalformedCatalogue
{
    private const int F32 = (int)GgmlType.F32;
    private const int Q4_0 = (int)GgmlType.Q4_0;

    /// <summary>
    /// Reference G1: a Q4_0 row of 32·⌈(2^64+128)/576⌉ elements. ggml computes ne0·18/32 modulo 2^64 and
    /// reports 4 bytes; the true size is <see cref="G1TrueBytes"/>.
    /// </summary>
    public const long G1Ne0 = 1024819115206086208;

    /// <summary>The true byte size of the G1 row: (ne0 / 32) · 18.</summary>
    public const long G1TrueBytes = 32025597350190194L * 18;

    private static readonly Lazy<IReadOnlyDictionary<string, MalformedCase>> LazyCases = new(Build);

    public static IReadOnlyDictionary<string, MalformedCase> Cases => LazyCases.Value;

    public static IEnumerable<string> Names => Cases.Keys;

    /// <summary>Codes no generated file can reach, and why; the coverage test accepts these as missing.</summary>
    public static readonly IReadOnlyDictionary<GgufErrorCode, string> Unreachable = new Dictionary<GgufErrorCode, string>
    {
        // Each tensor must lie inside the file and the data section starts at or after the alignment, so
        // the running padded size stays below the file size; TensorDataPastEnd fires first (CVE-2025-53630 case).
        [GgufErrorCode.RunningSizeOverflow] = "defence in depth: the in-file check fires first",
        // Needs several files: GgufModelTests cover split.no, split.count, split.tensors.count and duplicates across splits.
        [GgufErrorCode.SplitMismatch] = "multi-file (GgufModel); Model/GgufModelTests cover it",
        // Raised by typed getters, not by parsing; TypedGetterConfusionTests cover it.
        [GgufErrorCode.TypeMismatch] = "typed getters (TypedGetterConfusionTests)",
        // Raised by the architecture layer's hyperparameter reader and by GgufTokenizer, not by parsing;
        // Architectures/HyperparameterTests and Tokenization/TokenizerMetadataTests cover them.
        [GgufErrorCode.MissingKey] = "hyperparameters (Architectures/HyperparameterTests), tokenizer metadata (Tokenization/TokenizerMetadataTests)",
        [GgufErrorCode.InvalidHyperparameter] = "hyperparameters (Architectures/HyperparameterTests)",
        [GgufErrorCode.InvalidTokenizer] = "tokenizer metadata (Tokenization/TokenizerMetadataTests)",
    };

    private static Dictionary<string, MalformedCase> Build()
    {
        var cases = new Dictionary<string, MalformedCase>(StringComparer.Ordinal);

        void Add(string name, string reference, GgufErrorCode code, Func<RawGguf, long> build, GgufReaderOptions? options = null)
        {
            var raw = new RawGguf();
            long offset = build(raw);
            cases.Add(name, new MalformedCase(name, reference, raw.ToArray(), code, offset, options));
        }

        // A file with one valid KV before whatever the case writes (so offsets are not trivially 24).
        RawGguf Kvs(RawGguf raw, ulong kvCount, ulong tensorCount = 0) =>
            raw.Header(tensorCount, kvCount).KvString("general.architecture", "test");

        // Header(n tensors, 1 KV) + architecture; the case writes the tensor infos; then the data section.
        long WithTensors(RawGguf raw, int tensorCount, Func<RawGguf, long> infos, long dataBytes = 64)
        {
            Kvs(raw, 1, (ulong)tensorCount);
            long offset = infos(raw);
            raw.DataSection().Zeros(dataBytes);
            return offset;
        }

        // ---------------- header: magic, version, counts ----------------
        Add("Magic_GGUX", "§8 bad magic", GgufErrorCode.BadMagic, r => { r.Header(0, 0, magic: "GGUX"); return r["magic"]; });
        Add("Magic_FUGG_PrereleaseDraft", "§8 bad magic (corpus history: reversed magic)", GgufErrorCode.BadMagic, r => { r.Header(0, 0, magic: "FUGG"); return 0; });
        Add("Magic_Zeros", "§8 bad magic", GgufErrorCode.BadMagic, r => { r.Zeros(24); return 0; });
        Add("Magic_ThreeBytes", "§8 truncation at every field", GgufErrorCode.Truncated, r => { r.Bytes("GGU"u8); return 0; });
        Add("Version_0", "§8 version 0 (#13956)", GgufErrorCode.UnsupportedVersion, r => { r.Header(0, 0, version: 0); return r["version"]; });
        Add("Version_1", "§8 version 1 (#3908)", GgufErrorCode.UnsupportedVersion, r => { r.Header(0, 0, version: 1); return r["version"]; });
        Add("Version_4", "§8 version 4", GgufErrorCode.UnsupportedVersion, r => { r.Header(0, 0, version: 4); return r["version"]; });
        Add("Version_MaxUInt", "§8 version", GgufErrorCode.UnsupportedVersion, r => { r.Header(0, 0, version: uint.MaxValue); return r["version"]; });
        Add("Version_ByteSwapped3", "§8 byte-swapped version (#13943)", GgufErrorCode.BigEndianFile, r => { r.Header(0, 0, version: 0x03000000); return r["version"]; });
        Add("Version_Low16BitsZero", "§8 byte-swapped version (#13943)", GgufErrorCode.BigEndianFile, r => { r.Header(0, 0, version: 0x00010000); return r["version"]; });
        Add("Version_Truncated", "§8 truncation at every field", GgufErrorCode.Truncated, r => { r.Bytes("GGUF"u8).U16(3); return 4; });

        Add("TensorCount_Negative", "§8 n_tensors negative", GgufErrorCode.TensorCountOutOfRange, r => { r.Header(ulong.MaxValue, 0); return r["n_tensors"]; });
        Add("TensorCount_2Pow40", "§8 n_tensors huge", GgufErrorCode.TensorCountOutOfRange, r => { r.Header(1UL << 40, 0); return r["n_tensors"]; });
        Add("TensorCount_WrapsAllocation_CVE_2024_21836", "CVE-2024-21836 n_tensors·sizeof wraps", GgufErrorCode.TensorCountOutOfRange, r => { r.Header((ulong.MaxValue / 336) + 1, 0); return r["n_tensors"]; });
        Add("TensorCount_LargerThanFile", "§8 n_tensors larger than the file", GgufErrorCode.CountExceedsFile, r => { r.Header(1000, 0).Zeros(100); return r["n_tensors"]; });
        Add("MetadataCount_Negative", "§8 n_kv negative", GgufErrorCode.MetadataCountOutOfRange, r => { r.Header(0, ulong.MaxValue); return r["n_kv"]; });
        Add("MetadataCount_2Pow40", "§8 n_kv huge", GgufErrorCode.MetadataCountOutOfRange, r => { r.Header(0, 1UL << 40); return r["n_kv"]; });
        Add("MetadataCount_WrapsAllocation_CVE_2024_23605", "CVE-2024-23605 n_kv·sizeof(gguf_kv) wraps", GgufErrorCode.MetadataCountOutOfRange, r => { r.Header(0, (ulong.MaxValue / 88) + 1); return r["n_kv"]; });
        Add("MetadataCount_LargerThanFile", "§8 n_kv larger than the file", GgufErrorCode.CountExceedsFile, r => { Kvs(r, 1000); return r["n_kv"]; });
        Add("MetadataCount_OneMoreThanPresent", "§8 n_kv lies by one", GgufErrorCode.Truncated, r => { Kvs(r, 2); return r.Position; });
        Add("HeaderCounts_Truncated", "§8 truncation at every field", GgufErrorCode.Truncated, r => { r.Bytes("GGUF"u8).U32(3).U64(0).U32(0); return 16; });

        // ---------------- keys ----------------
        Add("KeyLength_MaxULong_CVE_2024_23496", "CVE-2024-23496 string length 2^64-1", GgufErrorCode.StringTooLong, r => { Kvs(r, 2).Mark("bad").LyingStr(ulong.MaxValue, "abc"u8).Zeros(16); return r["bad"]; });
        Add("KeyLength_1GiBPlus1", "§2 string length > 1 GiB", GgufErrorCode.StringTooLong, r => { Kvs(r, 2).Mark("bad").LyingStr((1UL << 30) + 1).Zeros(16); return r["bad"]; });
        Add("KeyLength_PastEnd", "§8 key length > remaining (#19003 OOM)", GgufErrorCode.StringPastEnd, r => { Kvs(r, 2).Mark("bad").LyingStr(1000, "abc"u8).Zeros(16); return r["bad"]; });
        Add("Key_Empty", "§8 empty key (#20873, #24884)", GgufErrorCode.EmptyKey, r => { Kvs(r, 2).Mark("bad").Str(""u8).I32(4).U32(7); return r["bad"]; });
        Add("Key_Duplicate", "§8 duplicate key", GgufErrorCode.DuplicateKey, r => { Kvs(r, 2).KvU32("general.architecture", 1); return r["kv:general.architecture"]; });
        Add("Key_EmbeddedNul", "§8 key with embedded NUL (G4)", GgufErrorCode.InvalidName, r => { Kvs(r, 2).Key("a\0x"u8, "nul", 4).U32(1); return r["kv:nul"]; });
        Add("Key_DuplicateAfterNulTruncation", "§8 keys equal under strcmp (G4)", GgufErrorCode.InvalidName, r => { Kvs(r, 3).Key("a\0x"u8, "ax", 4).U32(1).Key("a\0y"u8, "ay", 4).U32(2); return r["kv:ax"]; });
        Add("Key_InvalidUtf8", "stricter: keys are UTF-8", GgufErrorCode.InvalidName, r => { Kvs(r, 2).Key([0x61, 0xFF, 0x62], "ff", 4).U32(1); return r["kv:ff"]; });
        Add("Key_OverlongUtf8Nul", "stricter: keys are UTF-8 (overlong NUL)", GgufErrorCode.InvalidName, r => { Kvs(r, 2).Key([0x61, 0xC0, 0x80], "overlong", 4).U32(1); return r["kv:overlong"]; });
        Add("Key_65536Bytes", "stricter: key <= 65535 bytes (spec)", GgufErrorCode.KeyTooLong, r => { Kvs(r, 2).Key(new string('k', 65536), 4).U32(1); return r["kv:" + new string('k', 65536)]; });
        Add("Key_Truncated", "§8 truncation at every field", GgufErrorCode.Truncated, r => { Kvs(r, 2).Mark("bad").U32(5); return r["bad"]; });

        // ---------------- value types and values ----------------
        Add("ValueType_Minus1", "§8 value type -1", GgufErrorCode.InvalidValueType, r => { Kvs(r, 2).Key("x", -1).U32(0); return r["kv:x.type"]; });
        Add("ValueType_13_ObjExtension", "§8 value type 13 (corpus history: OBJ)", GgufErrorCode.InvalidValueType, r => { Kvs(r, 2).Key("x", 13).U32(0); return r["kv:x.type"]; });
        Add("ValueType_2Pow31", "§8 value type 2^31", GgufErrorCode.InvalidValueType, r => { Kvs(r, 2).Key("x", int.MinValue).U32(0); return r["kv:x.type"]; });
        Add("ValueType_Truncated", "§8 truncation at every field", GgufErrorCode.Truncated, r => { Kvs(r, 2).Str("x").U16(4); return r.Position - 2; });
        Add("Bool_2", "§8 bool 2 (G5)", GgufErrorCode.InvalidBool, r => { Kvs(r, 2).KvBool("b", 2); return r["kv:b.value"]; });
        Add("Bool_FF", "§8 bool 0xFF (G5)", GgufErrorCode.InvalidBool, r => { Kvs(r, 2).KvBool("b", 0xFF); return r["kv:b.value"]; });
        Add("StringValue_LengthMaxULong_CVE_2024_23496", "CVE-2024-23496 string length 2^64-1", GgufErrorCode.StringTooLong, r => { Kvs(r, 2).Key("s", GgufValueType.String).LyingStr(ulong.MaxValue, "abc"u8); return r["kv:s.value"]; });
        Add("StringValue_LengthInt32Max_CVE_2025_49847", "CVE-2025-49847 token string length >= INT32_MAX", GgufErrorCode.StringTooLong, r => { Kvs(r, 2).Key("s", GgufValueType.String).LyingStr(int.MaxValue, "abc"u8); return r["kv:s.value"]; });
        Add("StringValue_PastEnd", "§2 string length > remaining (#19856)", GgufErrorCode.StringPastEnd, r => { Kvs(r, 2).Key("s", GgufValueType.String).LyingStr(100, "abc"u8); return r["kv:s.value"]; });
        Add("ScalarValue_Truncated", "§8 short read of a scalar", GgufErrorCode.Truncated, r => { Kvs(r, 2).Key("u", GgufValueType.UInt64).Bytes([1, 2, 3]); return r["kv:u.value"]; });

        // ---------------- arrays ----------------
        Add("ArrayElementType_Minus1", "§8 value type -1 in an array", GgufErrorCode.InvalidValueType, r => { Kvs(r, 2).KvArray("a", -1, 1, e => e.U32(0)); return r["kv:a.value"]; });
        Add("ArrayElementType_13", "§8 value type 13 in an array", GgufErrorCode.InvalidValueType, r => { Kvs(r, 2).KvArray("a", 13, 1, e => e.U32(0)); return r["kv:a.value"]; });
        Add("ArrayCount_AboveLimit", "§2 array count > 1 Gi", GgufErrorCode.ArrayTooLong, r => { Kvs(r, 2).KvArray("a", GgufValueType.UInt8, (1UL << 30) + 1, e => e.U32(0)); return r["kv:a.count"]; });
        Add("ArrayCount_MaxULong", "§8 array count huge", GgufErrorCode.ArrayTooLong, r => { Kvs(r, 2).KvArray("a", GgufValueType.UInt8, ulong.MaxValue, e => e.U32(0)); return r["kv:a.count"]; });
        Add("ArrayCount_TimesSizeOverflows_CVE_2024_21825", "CVE-2024-21825 count·size wraps", GgufErrorCode.ArrayPastEnd,
            r => { Kvs(r, 2).KvArray("a", GgufValueType.UInt64, (1UL << 61) + 1, e => e.U64(0)); return r["kv:a.count"]; },
            new GgufReaderOptions { MaxArrayElements = long.MaxValue });
        Add("ArrayCount_PastEnd", "§8 array count > remaining", GgufErrorCode.ArrayPastEnd, r => { Kvs(r, 2).KvArray("a", GgufValueType.UInt32, 1000, e => e.U32(0)); return r["kv:a.count"]; });
        Add("StringArrayCount_Times8PastEnd", "§8 string-array count × 8 > remaining", GgufErrorCode.ArrayPastEnd, r => { Kvs(r, 2).KvArray("a", GgufValueType.String, 10, e => e.Str("x").Str("y")); return r["kv:a.count"]; });
        Add("StringArrayElement_LengthPastEnd", "§8 string in an array past the end", GgufErrorCode.StringPastEnd, r => { Kvs(r, 2).KvArray("a", GgufValueType.String, 2, e => e.Str("x").Mark("bad").LyingStr(1000, "yy"u8).Zeros(8)); return r["bad"]; });
        Add("StringArrayElement_LengthMaxULong", "CVE-2024-23496 in an array", GgufErrorCode.StringTooLong, r => { Kvs(r, 2).KvArray("a", GgufValueType.String, 2, e => e.Str("x").Mark("bad").LyingStr(ulong.MaxValue).Zeros(8)); return r["bad"]; });
        Add("BoolArray_Element2", "§8 bool 2 in an array", GgufErrorCode.InvalidBool, r => { Kvs(r, 2).KvArray("a", GgufValueType.Bool, 4, e => e.U8(0).U8(1).Mark("bad").U8(2).U8(0)); return r["bad"]; });
        Add("NestedArray_RejectedAsInLlamaCpp", "§8 nested array (llama.cpp rejects)", GgufErrorCode.ArrayNestingTooDeep,
            r => { Kvs(r, 2).KvArray("a", GgufValueType.Array, 1, e => e.I32((int)GgufValueType.UInt8).U64(1).U8(7)); return r["kv:a.value"]; },
            new GgufReaderOptions { MaxArrayDepth = 1 });
        Add("NestedArray_DeeperThanLimit", "§8 nested array (gguf-py RecursionError PoC)", GgufErrorCode.ArrayNestingTooDeep, r =>
        {
            Kvs(r, 2).Key("deep", GgufValueType.Array);
            for (int depth = 1; depth <= 8; depth++)
            {
                r.Mark($"depth{depth}").I32((int)GgufValueType.Array).U64(1);
            }

            r.I32((int)GgufValueType.UInt8).U64(0);
            return r["depth8"];
        });
        Add("NestedArray_InnerCountPastEnd", "§8 array count > remaining (nested)", GgufErrorCode.ArrayPastEnd, r => { Kvs(r, 2).KvArray("a", GgufValueType.Array, 1, e => e.I32((int)GgufValueType.UInt32).Mark("bad").U64(1 << 20).U32(1)); return r["bad"]; });

        // ---------------- general.alignment ----------------
        Add("Alignment_UInt64", "§8 alignment wrong type (#25596)", GgufErrorCode.AlignmentWrongType, r => { Kvs(r, 2).KvU64("general.alignment", 32); return r["kv:general.alignment.value"]; });
        Add("Alignment_Int32", "§8 alignment wrong type (#25596)", GgufErrorCode.AlignmentWrongType, r => { Kvs(r, 2).KvI32("general.alignment", 32); return r["kv:general.alignment.value"]; });
        Add("Alignment_String", "§8 alignment wrong type (#25596)", GgufErrorCode.AlignmentWrongType, r => { Kvs(r, 2).KvString("general.alignment", "32"); return r["kv:general.alignment.value"]; });
        Add("Alignment_ArrayOfUInt32", "§8 alignment wrong type", GgufErrorCode.AlignmentWrongType, r => { Kvs(r, 2).KvArray("general.alignment", GgufValueType.UInt32, 1, e => e.U32(32)); return r["kv:general.alignment.value"]; });
        Add("Alignment_0", "§8 alignment 0", GgufErrorCode.AlignmentNotPowerOfTwo, r => { Kvs(r, 2).KvU32("general.alignment", 0); return r["kv:general.alignment.value"]; });
        Add("Alignment_48", "§8 alignment not a power of two", GgufErrorCode.AlignmentNotPowerOfTwo, r => { Kvs(r, 2).KvU32("general.alignment", 48); return r["kv:general.alignment.value"]; });
        Add("Alignment_MaxUInt", "§8 alignment not a power of two", GgufErrorCode.AlignmentNotPowerOfTwo, r => { Kvs(r, 2).KvU32("general.alignment", uint.MaxValue); return r["kv:general.alignment.value"]; });
        Add("Alignment_2Pow31_V01", "§8 alignment 2^31 (oss-security V-01)", GgufErrorCode.AlignmentTooLarge, r => { Kvs(r, 2).KvU32("general.alignment", 1u << 31); return r["kv:general.alignment.value"]; });

        // ---------------- tensor infos ----------------
        Add("TensorName_64Bytes", "§8 tensor name >= 64 bytes (#10100)", GgufErrorCode.TensorNameTooLong, r => WithTensors(r, 1, t => { t.Tensor(new string('n', 64), [4], F32, 0); return t["t:" + new string('n', 64)]; }));
        Add("TensorName_LengthMaxULong", "CVE-2024-23496 as a tensor name", GgufErrorCode.StringTooLong, r => WithTensors(r, 1, t => { t.Mark("bad").LyingStr(ulong.MaxValue).Zeros(24); return t["bad"]; }));
        Add("TensorName_PastEnd", "§8 tensor name past the end", GgufErrorCode.StringPastEnd, r => { Kvs(r, 1, 1).Mark("bad").LyingStr(60, "abc"u8); return r["bad"]; });
        Add("TensorName_Duplicate", "§8 duplicate tensor name (#6905)", GgufErrorCode.DuplicateTensorName, r => WithTensors(r, 2, t => { t.Tensor("w", [4], F32, 0).Mark("second").Tensor("w", [4], F32, 32); return t["second"]; }));
        Add("TensorName_DuplicateAfterNulTruncation", "§8 names equal under strcmp (G4)", GgufErrorCode.InvalidName, r => WithTensors(r, 2, t => { t.Tensor("x\0a"u8, "xa", [4], F32, 0).Tensor("x\0b"u8, "xb", [4], F32, 32); return t["t:xa"]; }));
        Add("TensorName_InvalidUtf8", "stricter: tensor names are UTF-8", GgufErrorCode.InvalidName, r => WithTensors(r, 1, t => { t.Tensor([0xFE, 0x41], "fe", [4], F32, 0); return t["t:fe"]; }));
        Add("TensorNDims_5_CVE_2024_21802", "CVE-2024-21802 n_dims > 4", GgufErrorCode.TooManyDimensions, r => WithTensors(r, 1, t => { t.Tensor("w", [1, 1, 1, 1, 4], F32, 0); return t["t:w.n_dims"]; }));
        Add("TensorNDims_MaxUInt", "§6 oss-security gguf-py OOM on n_dims 0xFFFFFFFF", GgufErrorCode.TooManyDimensions, r => WithTensors(r, 1, t => { t.Tensor("w", [4], F32, 0, nDims: uint.MaxValue); return t["t:w.n_dims"]; }));
        Add("TensorNe_Negative", "§8 ne < 0", GgufErrorCode.NegativeDimension, r => WithTensors(r, 1, t => { t.Tensor("w", [4, -1], F32, 0); return t["t:w.ne1"]; }));
        Add("TensorNe_MinLong", "§8 ne < 0", GgufErrorCode.NegativeDimension, r => WithTensors(r, 1, t => { t.Tensor("w", [long.MinValue], F32, 0); return t["t:w.ne0"]; }));
        Add("TensorNe_Zero", "§8 ne = 0 (#25596 SIGFPE; valid by default, rejected by the strict option)", GgufErrorCode.ZeroDimension,
            r => WithTensors(r, 1, t => { t.Tensor("w", [4, 0, 2], F32, 0); return t["t:w.ne1"]; }), new GgufReaderOptions { AllowZeroDimensions = false });
        Add("TensorNe_ProductOverflows_CVE_2024_21802", "CVE-2024-21802 ne product overflows", GgufErrorCode.ElementCountOverflow, r => WithTensors(r, 1, t => { t.Tensor("w", [1L << 32, 1L << 32], F32, 0); return t["t:w.ne1"]; }));
        Add("TensorNe_ProductIsInt64Max", "§8 ne product >= 2^63-1", GgufErrorCode.ElementCountOverflow, r => WithTensors(r, 1, t => { t.Tensor("w", [long.MaxValue], (int)GgmlType.I8, 0); return t["t:w.ne0"]; }));
        Add("TensorNe_Truncated", "§8 truncation at every field", GgufErrorCode.Truncated, r => { Kvs(r, 1, 1).Str("w").U32(2).I64(4).Mark("bad").U32(1); return r["bad"]; });
        Add("TensorType_Minus1", "§8 tensor type out of range", GgufErrorCode.InvalidTensorType, r => WithTensors(r, 1, t => { t.Tensor("w", [4], -1, 0); return t["t:w.type"]; }));
        Add("TensorType_43", "§8 tensor type out of range", GgufErrorCode.InvalidTensorType, r => WithTensors(r, 1, t => { t.Tensor("w", [4], 43, 0); return t["t:w.type"]; }));
        Add("TensorType_2Pow31", "§8 tensor type out of range (#19856 negative id)", GgufErrorCode.InvalidTensorType, r => WithTensors(r, 1, t => { t.Tensor("w", [4], int.MinValue, 0); return t["t:w.type"]; }));
        foreach (int removed in new[] { 4, 5, 31, 32, 33, 36, 37, 38 })
        {
            Add($"TensorType_Removed{removed}", "§8 removed tensor type", GgufErrorCode.RemovedTensorType, r => WithTensors(r, 1, t => { t.Tensor("w", [256], removed, 0); return t["t:w.type"]; }));
        }

        Add("TensorNe0_NotBlockMultiple", "§8 ne0 not a multiple of the block size", GgufErrorCode.NotBlockMultiple, r => WithTensors(r, 1, t => { t.Tensor("w", [33, 2], Q4_0, 0); return t["t:w.ne0"]; }));
        Add("TensorScalar_OfBlockType", "§8 n_dims 0 of a block type (ne0 = 1)", GgufErrorCode.NotBlockMultiple, r => WithTensors(r, 1, t => { t.Tensor("w", [], (int)GgmlType.Q4_K, 0); return t["t:w.n_dims"]; }));
        Add("TensorBytes_NelementsTimesTypeSize_CVE_2026_33298", "CVE-2026-33298 nelements·type_size > 2^63", GgufErrorCode.TensorSizeOverflow, r => WithTensors(r, 1, t => { t.Tensor("w", [1L << 62], F32, 0); return t["t:w.n_dims"]; }));
        Add("TensorBytes_Ne0TimesTypeSizeWraps_G1", "G1 ggml_nbytes ne0·type_size wraps (~576 PB reported as 4 B)", GgufErrorCode.TensorDataPastEnd,
            r => WithTensors(r, 1, t => { t.Tensor("w", [G1Ne0], Q4_0, 0); return t["t:w.offset"]; }));
        Add("TensorBytes_PaddingWraps_G2", "G2 GGML_PAD wraps to 0", GgufErrorCode.TensorSizeOverflow, r => WithTensors(r, 2, t => { t.Tensor("big", [long.MaxValue / 4], F32, 0).Tensor("next", [4], F32, 0); return t["t:big.n_dims"]; }));
        Add("TensorBytes_RunningSizeWraps_CVE_2025_53630", "CVE-2025-53630 sum of padded sizes wraps", GgufErrorCode.TensorDataPastEnd,
            r => WithTensors(r, 2, t => { t.Tensor("a", [1L << 60], F32, 0).Tensor("b", [1L << 60], F32, 1UL << 62); return t["t:a.offset"]; }));
        Add("TensorBytes_ContextSizeWraps_CVE_2026_27940", "CVE-2026-27940 many large tensors (mem_size wrap)", GgufErrorCode.TensorDataPastEnd,
            r => WithTensors(r, 2, t => { t.Tensor("a", [(1L << 61) - 8], F32, 0).Tensor("b", [8], F32, (1UL << 63) - 32); return t["t:a.offset"]; }));

        // ---------------- tensor offsets and data ----------------
        Add("TensorOffset_Misaligned", "§8 offset misaligned", GgufErrorCode.TensorOffsetMisaligned, r => WithTensors(r, 2, t => { t.Tensor("a", [4], F32, 0).Tensor("b", [4], F32, 16); return t["t:b.offset"]; }));
        Add("TensorOffset_MisalignedUnpacked", "§8 offset misaligned (spec rules only)", GgufErrorCode.TensorOffsetMisaligned,
            r => WithTensors(r, 2, t => { t.Tensor("a", [4], F32, 0).Tensor("b", [4], F32, 40); return t["t:b.offset"]; }), new GgufReaderOptions { RequirePackedTensors = false });
        Add("TensorOffset_Gap", "§8 offset gapped (packed layout)", GgufErrorCode.TensorOffsetNotPacked, r => WithTensors(r, 2, t => { t.Tensor("a", [4], F32, 0).Tensor("b", [4], F32, 64); return t["t:b.offset"]; }, 128));
        Add("TensorOffset_Reordered", "§8 offset reordered (packed layout)", GgufErrorCode.TensorOffsetNotPacked, r => WithTensors(r, 2, t => { t.Tensor("a", [4], F32, 32).Tensor("b", [4], F32, 0); return t["t:a.offset"]; }));
        Add("TensorOffset_Shared", "§8 offset overlapping (packed layout)", GgufErrorCode.TensorOffsetNotPacked, r => WithTensors(r, 2, t => { t.Tensor("a", [4], F32, 0).Tensor("b", [4], F32, 0); return t["t:b.offset"]; }));
        Add("TensorOffset_OverlapUnpacked", "§8 offset overlapping (spec rules only)", GgufErrorCode.TensorOverlap,
            r => WithTensors(r, 2, t => { t.Tensor("a", [16], F32, 0).Tensor("b", [4], F32, 32); return t["t:b.offset"]; }, 128), new GgufReaderOptions { RequirePackedTensors = false });
        Add("TensorOffset_SharedUnpacked", "§8 offset overlapping (spec rules only)", GgufErrorCode.TensorOverlap,
            r => WithTensors(r, 2, t => { t.Tensor("a", [4], F32, 0).Tensor("b", [4], F32, 0); return t["t:b.offset"]; }), new GgufReaderOptions { RequirePackedTensors = false });
        Add("TensorOffset_AboveInt64Max", "§8 tensor data past EOF", GgufErrorCode.TensorDataPastEnd,
            r => WithTensors(r, 1, t => { t.Tensor("a", [4], F32, 1UL << 63); return t["t:a.offset"]; }), new GgufReaderOptions { RequirePackedTensors = false });
        Add("TensorOffset_FarPastEof_LoRA27056", "§6 #27056 adapter offset beyond EOF", GgufErrorCode.TensorDataPastEnd,
            r => WithTensors(r, 1, t => { t.Tensor("a", [4], F32, 1UL << 40); return t["t:a.offset"]; }), new GgufReaderOptions { RequirePackedTensors = false });
        Add("TensorData_PastEof", "§8 tensor data past EOF (#6885)", GgufErrorCode.TensorDataPastEnd, r => WithTensors(r, 2, t => { t.Tensor("a", [4], F32, 0).Tensor("b", [64], F32, 32); return t["t:b.offset"]; }, 100));
        Add("TensorData_LyingDims_Ollama2026_7482", "§6 Ollama CVE-2026-7482 dims larger than the data", GgufErrorCode.TensorDataPastEnd, r => WithTensors(r, 1, t => { t.Tensor("a", [4096, 4096], F32, 0); return t["t:a.offset"]; }));
        Add("DataStart_PastEof", "§8 data start past EOF", GgufErrorCode.DataOffsetPastEnd, r => { Kvs(r, 1, 1).Tensor("a", [4], F32, 0); return r.Position; });
        Add("DataStart_HugeAlignmentPastEof", "§2 alignment 2^30 with tensors: data start past EOF", GgufErrorCode.DataOffsetPastEnd,
            r => { r.Header(1, 2).KvString("general.architecture", "test").KvU32("general.alignment", 1u << 30).Tensor("a", [4], F32, 0).Zeros(64); return r.Position - 64; });

        // ---------------- header size limit ----------------
        Add("Header_AboveMaxHeaderBytes", "budget: header larger than the caller allows", GgufErrorCode.HeaderTooLarge,
            r => { Kvs(r, 2).KvString("big", new string('x', 200)); return r["kv:big.value"] + 8; }, new GgufReaderOptions { MaxHeaderBytes = 100 });

        return cases;
    }

    /// <summary>A file with a metadata KV for every value type and one tensor of each of a few types; it must open.</summary>
    public static byte[] ValidEverything()
    {
        var r = new RawGguf().Header(3, 16)
            .KvString("general.architecture", "test")
            .KvU8("u8", 200).Key("i8", GgufValueType.Int8).U8(0x80).Key("u16", GgufValueType.UInt16).U16(65535)
            .Key("i16", GgufValueType.Int16).U16(0x8000).KvU32("u32", uint.MaxValue).KvI32("i32", int.MinValue)
            .Key("f32", GgufValueType.Float32).F32(float.NaN).KvBool("bool", 1).KvU64("u64", ulong.MaxValue)
            .Key("i64", GgufValueType.Int64).I64(long.MinValue).Key("f64", GgufValueType.Float64).U64(0x7FF0000000000000)
            .KvString("empty", "")
            .KvArray("strings", GgufValueType.String, 3, e => e.Str("a").Str("").Str("ünï"))
            .KvArray("nested", GgufValueType.Array, 2, e => e.I32((int)GgufValueType.UInt8).U64(2).U8(1).U8(2).I32((int)GgufValueType.String).U64(1).Str("z"))
            .KvArray("emptyarr", GgufValueType.Float32, 0, _ => { })
            .Tensor("scalar", [], F32, 0)
            .Tensor("q", [64, 2], Q4_0, 32)
            .Tensor("last", [3], (int)GgmlType.F16, 32 + 96)
            .DataSection();
        r.Zeros(32 + 96 + 6); // the last tensor without its trailing padding, which llama.cpp's loader accepts
        return r.ToArray();
    }

    /// <summary>Files at the edges of the rules that must open: the stricter rules are not over-strict.</summary>
    public static IEnumerable<(string Name, byte[] File, GgufReaderOptions? Options)> AcceptedEdges()
    {
        yield return ("Alignment_1", new RawGguf().Header(2, 1).KvU32("general.alignment", 1).Tensor("a", [3], (int)GgmlType.I8, 0).Tensor("b", [1], (int)GgmlType.I8, 3).Zeros(4).ToArray(), null);
        yield return ("Alignment_2Pow30_NoTensors", new RawGguf().Header(0, 1).KvU32("general.alignment", 1u << 30).ToArray(), null);
        yield return ("Key_65535Bytes", new RawGguf().Header(0, 1).KvU32(new string('k', 65535), 1).ToArray(), null);
        yield return ("Version_2", new RawGguf().Header(0, 1, version: 2).KvU32("a", 1).ToArray(), null);
        yield return ("Empty_24Bytes", new RawGguf().Header(0, 0).ToArray(), null);
        yield return ("NoTensors_EndsUnpadded", new RawGguf().Header(0, 1).KvString("x", "abc").ToArray(), null);
        yield return ("TensorNe_ZeroAllowed", new RawGguf().Header(1, 0).Tensor("z", [4, 0], F32, 0).DataSection().ToArray(), null);
        yield return ("TensorNe_ZeroFirstAndAfterFirst", new RawGguf().Header(3, 0).Tensor("a", [0, 4], F32, 0).Tensor("b", [4, 0, 2], F32, 0).Tensor("c", [4], F32, 0).DataSection().Zeros(16).ToArray(), null);
        yield return ("TensorOffset_GapUnpacked", new RawGguf().Header(2, 0).Tensor("a", [4], F32, 0).Tensor("b", [4], F32, 64).DataSection().Zeros(96).ToArray(), new GgufReaderOptions { RequirePackedTensors = false });
        yield return ("TensorOffset_ReorderedUnpacked", new RawGguf().Header(2, 0).Tensor("a", [4], F32, 32).Tensor("b", [4], F32, 0).DataSection().Zeros(64).ToArray(), new GgufReaderOptions { RequirePackedTensors = false });
        yield return ("TensorName_63Bytes", new RawGguf().Header(1, 0).Tensor(new string('n', 63), [4], F32, 0).DataSection().Zeros(16).ToArray(), null);
        yield return ("TensorName_Empty", new RawGguf().Header(1, 0).Tensor("", [4], F32, 0).DataSection().Zeros(16).ToArray(), null);
        yield return ("NestedArray_Depth8", Nested(8), null);
        yield return ("ValidEverything", ValidEverything(), null);
    }

    private static byte[] Nested(int depth)
    {
        var r = new RawGguf().Header(0, 1).Key("deep", GgufValueType.Array);
        for (int d = 1; d < depth; d++)
        {
            r.I32((int)GgufValueType.Array).U64(1);
        }

        return r.I32((int)GgufValueType.UInt8).U64(1).U8(9).ToArray();
    }

    /// <summary>UTF-8 bytes of a string, for building names.</summary>
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
