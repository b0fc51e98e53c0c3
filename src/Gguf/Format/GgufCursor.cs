using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Gguf.Format;

/// <summary>Raised internally when a stream-fed parse needs more of the file than it has been given.</summary>
internal sealed class HeadExhaustedException : Exception
{
    public HeadExhaustedException(long needed) => Needed = needed;

    public HeadExhaustedException() { }

    public HeadExhaustedException(string message) : base(message) { }

    public HeadExhaustedException(string message, Exception inner) : base(message, inner) { }

    public long Needed { get; }
}

/// <summary>
/// Supplies more of the head of a file when a parse needs bytes past the part it was given: the same
/// bytes at the same offsets, so the parse goes on where it was.
/// </summary>
internal abstract class GgufHeadExtender
{
    /// <summary>
    /// Returns a head of at least <paramref name="needed"/> bytes, or the whole head the parse may read
    /// when that is shorter. Spans returned earlier stay valid until the parse ends.
    /// </summary>
    public abstract ReadOnlySpan<byte> Extend(long needed);
}

/// <summary>
/// A forward-only little-endian reader over the head of a file. Every read is checked first against the
/// bytes left in the whole file (a malformed file) and then against the head it was given (the head is
/// too short: a stream parse asks for more, a mapped parse reports a header above the limit).
/// </summary>
internal ref struct GgufCursor
{
    private readonly long _fileSize;
    private readonly bool _canGrow;
    private readonly GgufHeadExtender? _extender;
    private ReadOnlySpan<byte> _head;
    private int _position;

    public GgufCursor(ReadOnlySpan<byte> head, long fileSize, bool canGrow, GgufHeadExtender? extender = null)
    {
        _head = head;
        _fileSize = fileSize;
        _canGrow = canGrow;
        _extender = extender;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly long FileSize => _fileSize;

    /// <summary>Bytes between the position and the end of the file.</summary>
    public readonly long FileRemaining => _fileSize - _position;

    public readonly ReadOnlySpan<byte> Head => _head;

    /// <summary>Ensures that <paramref name="count"/> bytes can be read; throws Truncated when the file is shorter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Need(long count, string field, string? key = null, string? tensorName = null)
    {
        if ((ulong)count > (ulong)(_head.Length - _position))
        {
            NeedSlow(count, field, key, tensorName);
        }
    }

    private void NeedSlow(long count, string field, string? key, string? tensorName)
    {
        if ((ulong)count > (ulong)FileRemaining)
        {
            ThrowHelper.Truncated(_position, field, count, FileRemaining, key, tensorName);
        }

        if (_extender is not null)
        {
            _head = _extender.Extend(_position + count);
            if ((ulong)count <= (ulong)(_head.Length - _position))
            {
                return;
            }
        }

        if (_canGrow)
        {
            throw new HeadExhaustedException(_position + count);
        }

        ThrowHelper.Format(GgufErrorCode.HeaderTooLarge, _position, $"the header is larger than the {_head.Length} bytes the reader accepts", field, key, tensorName);
    }

    public uint ReadUInt32(string field, string? key = null, string? tensorName = null)
    {
        Need(4, field, key, tensorName);
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(_head.Slice(_position));
        _position += 4;
        return value;
    }

    public int ReadInt32(string field, string? key = null, string? tensorName = null) => (int)ReadUInt32(field, key, tensorName);

    public ulong ReadUInt64(string field, string? key = null, string? tensorName = null)
    {
        Need(8, field, key, tensorName);
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(_head.Slice(_position));
        _position += 8;
        return value;
    }

    public long ReadInt64(string field, string? key = null, string? tensorName = null) => (long)ReadUInt64(field, key, tensorName);

    /// <summary>Returns the next <paramref name="count"/> bytes and moves past them.</summary>
    public ReadOnlySpan<byte> ReadBytes(int count, string field, string? key = null, string? tensorName = null)
    {
        Need(count, field, key, tensorName);
        ReadOnlySpan<byte> bytes = _head.Slice(_position, count);
        _position += count;
        return bytes;
    }

    /// <summary>
    /// Moves past up to <paramref name="count"/> strings (u64 length, then the bytes) while each lies
    /// wholly inside both the head and the file and is at most <paramref name="maxLength"/> bytes long;
    /// returns how many it passed. It stops at the first string any check of the element-by-element path
    /// could stop at, so the caller reads the rest with that path and fails exactly as it would.
    /// </summary>
    public ulong SkipStrings(ulong count, ulong maxLength)
    {
        // A tight loop over the span: string arrays hold most of a header's bytes (tokens, merges).
        ReadOnlySpan<byte> head = _head.Slice(0, (int)Math.Min(_head.Length, _fileSize));
        int position = _position;
        ulong done = 0;
        while (done < count)
        {
            int left = head.Length - position - 8;
            if (left < 0)
            {
                break;
            }

            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(head.Slice(position, 8));
            if (length > maxLength || length > (ulong)left)
            {
                break;
            }

            position += 8 + (int)length;
            done++;
        }

        _position = position;
        return done;
    }

    /// <summary>Moves past <paramref name="count"/> bytes.</summary>
    public void Skip(long count, string field, string? key = null)
    {
        Need(count, field, key);
        _position += (int)count;
    }
}
