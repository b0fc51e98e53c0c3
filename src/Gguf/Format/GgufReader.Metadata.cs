using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using Gguf.IO;

namespace Gguf.Format;

// The metadata half of the parser: entries, values, arrays, strings, keys and names.
public static partial class GgufReader
{
    private static GgufMetadataEntry ReadEntry(ref GgufCursor cursor, GgufReaderOptions options, GgufByteSource source)
    {
        long entryOffset = cursor.Position;
        string key = ReadName(ref cursor, options, options.MaxKeyBytes, isKey: true, tensorName: null);

        long typeOffset = cursor.Position;
        int typeId = cursor.ReadInt32("value_type", key);
        if (!GgufValueTypes.IsDefined(typeId))
        {
            ThrowHelper.Format(GgufErrorCode.InvalidValueType, typeOffset, $"invalid value type {typeId}", "value_type", key);
        }

        var type = (GgufValueType)typeId;
        long valueOffset = cursor.Position;
        ulong bits = 0;
        GgufArray? array = null;
        switch (type)
        {
            case GgufValueType.String:
                SkipString(ref cursor, options, key);
                break;
            case GgufValueType.Array:
                array = ReadArray(ref cursor, options, source, key, depth: 1);
                break;
            default:
                int size = GgufValueTypes.FixedSize(type);
                ReadOnlySpan<byte> raw = cursor.ReadBytes(size, "value", key);
                bits = GgufMetadataEntry.DecodeScalar(type, raw);
                if (type == GgufValueType.Bool && bits > 1)
                {
                    ThrowHelper.Format(GgufErrorCode.InvalidBool, valueOffset, $"bool value is {bits}, not 0 or 1", "value", key);
                }

                break;
        }

        return new GgufMetadataEntry(source, key, type, entryOffset, valueOffset, cursor.Position - (int)valueOffset, bits, array);
    }

    private static GgufArray ReadArray(ref GgufCursor cursor, GgufReaderOptions options, GgufByteSource source, string key, int depth)
    {
        long typeOffset = cursor.Position;
        int elementTypeId = cursor.ReadInt32("array.element_type", key);
        if (!GgufValueTypes.IsDefined(elementTypeId))
        {
            ThrowHelper.Format(GgufErrorCode.InvalidValueType, typeOffset, $"invalid array element type {elementTypeId}", "array.element_type", key);
        }

        var elementType = (GgufValueType)elementTypeId;
        if (elementType == GgufValueType.Array && depth >= options.MaxArrayDepth)
        {
            ThrowHelper.Format(GgufErrorCode.ArrayNestingTooDeep, typeOffset, $"arrays are nested deeper than the limit of {options.MaxArrayDepth}", "array.element_type", key);
        }

        long countOffset = cursor.Position;
        ulong count = cursor.ReadUInt64("array.count", key);
        if (count > (ulong)options.MaxArrayElements)
        {
            ThrowHelper.Format(GgufErrorCode.ArrayTooLong, countOffset, $"array has {count} elements, above the limit of {options.MaxArrayElements}", "array.count", key);
        }

        int dataStart = cursor.Position;
        int fixedSize = GgufValueTypes.FixedSize(elementType);

        // Strings need at least their 8-byte length; nested arrays their 12-byte type and count.
        int minimumElementBytes = fixedSize != 0 ? fixedSize : elementType == GgufValueType.String ? 8 : 12;
        if (!GgmlTypeInfo.TryMultiply((long)count, minimumElementBytes, out long minimumBytes) || minimumBytes > cursor.FileRemaining)
        {
            ThrowHelper.Format(GgufErrorCode.ArrayPastEnd, countOffset, $"{count} elements of {GgufValueTypes.Name(elementType)} need at least {(decimal)count * minimumElementBytes} bytes, but only {cursor.FileRemaining} remain", "array.count", key);
        }

        if (fixedSize != 0)
        {
            // Checked as a long first: elements of more than 2 GiB must not become a negative int length.
            cursor.Need(minimumBytes, "array.data", key);
            ReadOnlySpan<byte> elements = cursor.ReadBytes((int)minimumBytes, "array.data", key);
            if (elementType == GgufValueType.Bool)
            {
                int bad = elements.IndexOfAnyExcept((byte)0, (byte)1);
                if (bad >= 0)
                {
                    ThrowHelper.Format(GgufErrorCode.InvalidBool, dataStart + bad, $"bool element {bad} is {elements[bad]}, not 0 or 1", "array.data", key);
                }
            }
        }
        else if (elementType == GgufValueType.String)
        {
            // The fast walk stops at the first element it cannot vouch for; the checked path takes
            // over from there and reports any error exactly as it would have.
            for (ulong i = cursor.SkipStrings(count, (ulong)options.MaxStringBytes); i < count; i++)
            {
                SkipString(ref cursor, options, key);
            }
        }
        else
        {
            for (ulong i = 0; i < count; i++)
            {
                ReadArray(ref cursor, options, source, key, depth + 1);
            }
        }

        return new GgufArray(source, key, elementType, (long)count, depth, dataStart, cursor.Position - dataStart);
    }

    private static void SkipString(ref GgufCursor cursor, GgufReaderOptions options, string key)
    {
        long lengthOffset = cursor.Position;
        ulong length = cursor.ReadUInt64("string.length", key);
        CheckStringLength(ref cursor, options, length, lengthOffset, key, null);
        cursor.Skip((long)length, "string.data", key);
    }

    private static void CheckStringLength(ref GgufCursor cursor, GgufReaderOptions options, ulong length, long lengthOffset, string? key, string? tensorName)
    {
        if (length > (ulong)options.MaxStringBytes)
        {
            ThrowHelper.Format(GgufErrorCode.StringTooLong, lengthOffset, $"string length {length} exceeds the limit of {options.MaxStringBytes}", "string.length", key, tensorName);
        }

        if (length > (ulong)cursor.FileRemaining)
        {
            ThrowHelper.Format(GgufErrorCode.StringPastEnd, lengthOffset, $"string length {length} exceeds the {cursor.FileRemaining} bytes remaining", "string.length", key, tensorName);
        }
    }

    /// <summary>Reads a key or tensor name: bounded, non-empty for keys, valid UTF-8 without NUL.</summary>
    private static string ReadName(ref GgufCursor cursor, GgufReaderOptions options, int maxBytes, bool isKey, string? tensorName)
    {
        long lengthOffset = cursor.Position;
        string field = isKey ? "key" : "tensor.name";
        ulong length = cursor.ReadUInt64(field + ".length");
        CheckStringLength(ref cursor, options, length, lengthOffset, null, tensorName);
        if (isKey && length == 0)
        {
            ThrowHelper.Format(GgufErrorCode.EmptyKey, lengthOffset, "key is empty", field);
        }

        if (length > (ulong)maxBytes)
        {
            ThrowHelper.Format(
                isKey ? GgufErrorCode.KeyTooLong : GgufErrorCode.TensorNameTooLong,
                lengthOffset,
                $"{(isKey ? "key" : "tensor name")} is {length} bytes long, above the limit of {maxBytes}",
                field);
        }

        ReadOnlySpan<byte> bytes = cursor.ReadBytes((int)length, field);

        // Names are nearly always ASCII: bytes 1-127 are valid UTF-8 without NUL, checked in one pass.
        if (!bytes.ContainsAnyExceptInRange((byte)1, (byte)0x7F))
        {
            return Encoding.ASCII.GetString(bytes);
        }

        if (bytes.Contains((byte)0) || !Utf8.IsValid(bytes))
        {
            // llama.cpp compares names with strcmp, so "a\0x" and "a\0y" would collide there (reference G4).
            ThrowHelper.Format(GgufErrorCode.InvalidName, lengthOffset, $"{(isKey ? "key" : "tensor name")} '{Printable(bytes)}' is not valid UTF-8 or contains a NUL byte", field);
        }

        return Encoding.UTF8.GetString(bytes);
    }
}
