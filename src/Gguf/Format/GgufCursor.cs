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
/// A forward-only little-endian reader over the head of a file. Every read is checked first against the
/// bytes left in the whole file (a malformed file) and then against the head it was given (the head is
/// too short: a stream parse asks for more, a mapped parse reports a header above the limit).
/// </summary>
internal ref struct GgufCursor
{
    private readonly ReadOnlySpan<byte> _head;
    private readonly long _fileSize;
    private readonly bool _canGrow;
    private int _position;

    public GgufCursor(ReadOnlySpan<byte> head, long fileSize, bool canGrow)
    {
        _head = head;
        _fileSize = fileSize;
        _canGrow = canGrow;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly long FileSize => _fileSize;

    /// <summary>Bytes between the position and the end of the file.</summary>
    public readonly long FileRemaining => _fileSize - _position;

    public readonly ReadOnlySpan<byte> Head => _head;

    /// <summary>Ensures that <paramref name="count"/> bytes can be read; throws Truncated when the file is shorter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Need(long count, string field, string? key = null, string? tensorName = null)
    {
        if ((ulong)count > (ulong)(_head.Length - _position))
        {
            NeedSlow(count, field, key, tensorName);
        }
    }

    private readonly void NeedSlow(long count, string field, string? key, string? tensorName)
    {
        if ((ulong)count > (ulong)FileRemaining)
        {
            ThrowHelper.Truncated(_position, field, count, FileRemaining, key, tensorName);
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

    /// <summary>Moves past <paramref name="count"/> bytes.</summary>
    public void Skip(long count, string field, string? key = null)
    {
        Need(count, field, key);
        _position += (int)count;
    }
}
