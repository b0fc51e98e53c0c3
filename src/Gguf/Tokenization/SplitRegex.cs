using System.Buffers;
using System.Text;

namespace Gguf.Tokenization;

/// <summary>
/// The regular expressions of llama.cpp's BPE pre-tokenizers that it runs through <c>std::regex</c>
/// (ECMAScript, leftmost match, first alternative wins, greedy quantifiers). A pattern that names a
/// Unicode category (<c>\p{L}</c>, <c>\p{N}</c>, …) runs, as in llama.cpp, over a "collapsed" text in
/// which every code point above U+007F is replaced by one byte for its category, with the category
/// rewritten to that byte plus its ASCII members; any other pattern runs over the code points, with
/// non-ASCII whitespace replaced by U+000B.
/// </summary>
/// <remarks>
/// The engine is a backtracking machine with an explicit stack (no recursion, so no stack overflow on
/// long input, where <c>std::regex</c> recurses per character) and a memo of failed (branch, position)
/// states, which keeps a search linear where plain backtracking goes quadratic (for example
/// <c>\s+$</c> over a long run of spaces followed by a letter). Quantified groups must not match the
/// empty string and neither may the whole pattern; every pattern we ship is checked when it is built.
/// </remarks>
internal sealed class SplitRegex
{
    // The collapsed bytes llama.cpp gives to each category (unicode.cpp, k_ucat_cpt).
    internal const int CollapsedNumber = 0xD1;
    internal const int CollapsedLetter = 0xD2;
    internal const int CollapsedPunctuation = 0xD3;
    internal const int CollapsedAccentMark = 0xD4;
    internal const int CollapsedSymbol = 0xD5;
    internal const int CollapsedOther = 0xD0;
    internal const int CollapsedWhitespace = 0x0B;

    private static readonly string[] CategoryNames = [@"\p{N}", @"\p{L}", @"\p{P}", @"\p{M}", @"\p{S}", @"\p{Lu}", @"\p{Ll}", @"\p{Lt}", @"\p{Lm}", @"\p{Lo}"];

    private readonly Instruction[] _program;
    private readonly CharClass[] _classes;
    private readonly int _splitCount;
    private readonly CharClass? _firstChars;

    private SplitRegex(string pattern, bool collapsed, Instruction[] program, CharClass[] classes, int splitCount, CharClass? firstChars)
    {
        Pattern = pattern;
        Collapsed = collapsed;
        _program = program;
        _classes = classes;
        _splitCount = splitCount;
        _firstChars = firstChars;
    }

    /// <summary>The pattern as llama.cpp writes it.</summary>
    public string Pattern { get; }

    /// <summary>Whether the pattern runs over the collapsed text (it names a Unicode category).</summary>
    public bool Collapsed { get; }

    /// <summary>Compiles one of llama.cpp's patterns, choosing the collapsed or the code point form as llama.cpp does.</summary>
    public static SplitRegex Create(string pattern)
    {
        bool collapsed = CategoryNames.Any(pattern.Contains);
        int[] source = collapsed ? CollapsePattern(pattern) : ToCodePoints(pattern);
        var parser = new Parser(source, collapsed);
        Node root = parser.ParseAll();
        if (root.CanBeEmpty)
        {
            throw new NotSupportedException($"pattern '{pattern}' can match the empty string");
        }

        var compiler = new Compiler();
        compiler.Emit(root);
        compiler.Add(new Instruction(OpCode.Match));
        return new SplitRegex(pattern, collapsed, compiler.Program.ToArray(), parser.Classes.ToArray(), compiler.SplitCount, root.FirstChars(parser.Classes));
    }

    /// <summary>The collapsed form of a code point (unicode.cpp: ASCII kept, whitespace U+000B, else its category byte).</summary>
    public static int CollapseCodePoint(int codePoint)
    {
        if (codePoint < 128)
        {
            return codePoint;
        }

        byte flags = LlamaUnicode.Flags(codePoint);
        if (LlamaUnicode.IsWhitespace(flags))
        {
            return CollapsedWhitespace;
        }

        return LlamaUnicode.Category(flags) switch
        {
            LlamaUnicode.CategoryNumber => CollapsedNumber,
            LlamaUnicode.CategoryLetter => CollapsedLetter,
            LlamaUnicode.CategoryPunctuation => CollapsedPunctuation,
            LlamaUnicode.CategoryAccentMark => CollapsedAccentMark,
            LlamaUnicode.CategorySymbol => CollapsedSymbol,
            _ => CollapsedOther,
        };
    }

    /// <summary>The code point form of a code point: non-ASCII whitespace becomes U+000B (std::wregex's \s is ASCII only).</summary>
    public static int WideCodePoint(int codePoint) =>
        codePoint > 0x7F && LlamaUnicode.IsWhitespace(LlamaUnicode.Flags(codePoint)) ? CollapsedWhitespace : codePoint;

    /// <summary>
    /// Splits each chunk of <paramref name="input"/> the way llama.cpp's <c>unicode_regex_split_stl</c> does:
    /// every match is a piece, and so is every stretch between matches. Appends piece lengths to <paramref name="output"/>.
    /// </summary>
    public void Split(ReadOnlySpan<int> input, ReadOnlySpan<int> chunks, ref ValueList<int> output, ref Scratch scratch)
    {
        int start = 0;
        foreach (int length in chunks)
        {
            ReadOnlySpan<int> chunk = input.Slice(start, length);
            start += length;
            PrepareMemo(ref scratch, length);
            int position = 0;
            while (position < length && Search(chunk, position, ref scratch, out int matchStart, out int matchEnd))
            {
                if (matchStart > position)
                {
                    output.Add(matchStart - position);
                }

                output.Add(matchEnd - matchStart);
                position = matchEnd;

                // States on the path that matched end at matchEnd; the next search starts there, so forget them.
                ForgetPosition(ref scratch, matchEnd, length);
            }

            if (position < length)
            {
                output.Add(length - position);
            }
        }
    }

    /// <summary>The leftmost match at or after <paramref name="from"/>.</summary>
    private bool Search(ReadOnlySpan<int> chunk, int from, ref Scratch scratch, out int matchStart, out int matchEnd)
    {
        for (int p = from; p < chunk.Length; p++)
        {
            if (_firstChars is not null && !_firstChars.Matches(chunk[p]))
            {
                continue;
            }

            if (Run(chunk, p, 0, ref scratch, useMemo: true, out matchEnd))
            {
                matchStart = p;
                return true;
            }
        }

        matchStart = matchEnd = 0;
        return false;
    }

    /// <summary>Runs the program from <paramref name="pc"/> at <paramref name="start"/>; true with the end position on a match.</summary>
    private bool Run(ReadOnlySpan<int> s, int start, int pc, ref Scratch scratch, bool useMemo, out int end)
    {
        Instruction[] program = _program;
        int stackBase = scratch.StackCount;
        int pos = start;
        while (true)
        {
            Instruction inst = program[pc];
            bool ok;
            switch (inst.Op)
            {
                case OpCode.Char:
                    ok = pos < s.Length && s[pos] == inst.A;
                    if (ok)
                    {
                        pos++;
                        pc++;
                        continue;
                    }

                    break;
                case OpCode.Class:
                    ok = pos < s.Length && _classes[inst.A].Matches(s[pos]);
                    if (ok)
                    {
                        pos++;
                        pc++;
                        continue;
                    }

                    break;
                case OpCode.Any:
                    ok = pos < s.Length && s[pos] != '\n' && s[pos] != '\r';
                    if (ok)
                    {
                        pos++;
                        pc++;
                        continue;
                    }

                    break;
                case OpCode.Split:
                    if (useMemo && scratch.TestAndSet(inst.C, pos))
                    {
                        break; // explored from here before without a match
                    }

                    scratch.Push(inst.B, pos);
                    pc = inst.A;
                    continue;
                case OpCode.Jump:
                    pc = inst.A;
                    continue;
                case OpCode.AssertEnd:
                    if (pos == s.Length)
                    {
                        pc++;
                        continue;
                    }

                    break;
                case OpCode.AssertStart:
                    // '^' only holds at the start of a chunk's first search: later searches set match_prev_avail.
                    if (pos == 0)
                    {
                        pc++;
                        continue;
                    }

                    break;
                case OpCode.WordBoundary:
                case OpCode.NotWordBoundary:
                    {
                        bool left = pos > 0 && IsWordChar(s[pos - 1]);
                        bool right = pos < s.Length && IsWordChar(s[pos]);
                        if ((left != right) == (inst.Op == OpCode.WordBoundary))
                        {
                            pc++;
                            continue;
                        }

                        break;
                    }

                case OpCode.Look:
                    {
                        bool matched = Run(s, pos, inst.A, ref scratch, useMemo: false, out _);
                        if (matched != (inst.B != 0))
                        {
                            pc = inst.C;
                            continue;
                        }

                        break;
                    }

                case OpCode.Match:
                    end = pos;
                    scratch.StackCount = stackBase;
                    return true;
            }

            // Backtrack.
            if (scratch.StackCount == stackBase)
            {
                end = 0;
                return false;
            }

            (pc, pos) = scratch.Pop();
        }
    }

    private static bool IsWordChar(int c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';

    private void PrepareMemo(ref Scratch scratch, int length)
    {
        long bits = (long)_splitCount * (length + 1);
        int words = (int)((bits + 63) / 64);
        scratch.MemoStride = length + 1;
        scratch.EnsureMemo(words);
        scratch.Memo.AsSpan(0, words).Clear();
    }

    private void ForgetPosition(ref Scratch scratch, int position, int length)
    {
        if (position > length)
        {
            return;
        }

        for (int split = 0; split < _splitCount; split++)
        {
            long bit = ((long)split * scratch.MemoStride) + position;
            scratch.Memo[bit >> 6] &= ~(1UL << (int)(bit & 63));
        }
    }

    /// <summary>
    /// unicode.cpp's rewrite of a pattern for the collapsed text: each category becomes its byte plus its
    /// ASCII members, in brackets unless already inside a bracket expression (tracked the way llama.cpp does).
    /// </summary>
    internal static int[] CollapsePattern(string pattern)
    {
        if (pattern.Any(c => c >= 128))
        {
            throw new NotSupportedException($"pattern '{pattern}' mixes Unicode categories and non-ASCII characters");
        }

        var output = new List<int>(pattern.Length * 2);
        bool inside = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '[' && (i == 0 || pattern[i - 1] != '\\'))
            {
                output.Add('[');
                inside = true;
                continue;
            }

            if (inside && pattern[i] == ']' && pattern[i - 1] != '\\')
            {
                output.Add(']');
                inside = false;
                continue;
            }

            if (pattern[i] == '\\' && i + 3 < pattern.Length && pattern[i + 1] == 'p' && pattern[i + 2] == '{')
            {
                int close = pattern.IndexOf('}', i + 3);
                if (close >= 0 && close <= i + 10)
                {
                    string name = pattern.Substring(i, close - i + 1);
                    string? members = CategoryMembers(name, out int collapsedByte);
                    if (members is not null)
                    {
                        if (!inside)
                        {
                            output.Add('[');
                        }

                        output.Add(collapsedByte);
                        foreach (char c in members)
                        {
                            output.Add(c);
                        }

                        if (!inside)
                        {
                            output.Add(']');
                        }

                        i = close;
                        continue;
                    }
                }
            }

            output.Add(pattern[i]);
        }

        return output.ToArray();
    }

    /// <summary>A category's collapsed byte and its ASCII members in regex syntax (unicode.cpp, k_ucat_map).</summary>
    private static string? CategoryMembers(string name, out int collapsedByte)
    {
        switch (name)
        {
            case @"\p{N}":
                collapsedByte = CollapsedNumber;
                return "0-9";
            case @"\p{L}":
            case @"\p{Lu}":
            case @"\p{Ll}":
            case @"\p{Lt}":
            case @"\p{Lm}":
            case @"\p{Lo}":
                collapsedByte = CollapsedLetter;
                return "A-Za-z";
            case @"\p{P}":
                collapsedByte = CollapsedPunctuation;
                return @"!-#%-*,-/:-;?-@\[-\]_\{\}";
            case @"\p{M}":
                collapsedByte = CollapsedAccentMark;
                return "";
            case @"\p{S}":
                collapsedByte = CollapsedSymbol;
                return @"\$\+<->^`\|";
            default:
                collapsedByte = 0;
                return null;
        }
    }

    private static int[] ToCodePoints(string pattern)
    {
        var list = new List<int>(pattern.Length);
        foreach (Rune rune in pattern.EnumerateRunes())
        {
            list.Add(rune.Value);
        }

        return list.ToArray();
    }

    /// <summary>Per-call working memory: the backtracking stack and the memo of visited branch states.</summary>
    internal struct Scratch : IDisposable
    {
        private int[]? _stack;

        public int StackCount;
        public ulong[] Memo;
        public int MemoStride;

        public Scratch()
        {
            _stack = ArrayPool<int>.Shared.Rent(256);
            Memo = ArrayPool<ulong>.Shared.Rent(64);
            StackCount = 0;
            MemoStride = 0;
        }

        public void Push(int pc, int pos)
        {
            if (_stack is null || StackCount + 2 > _stack.Length)
            {
                Grow();
            }

            _stack![StackCount] = pc;
            _stack[StackCount + 1] = pos;
            StackCount += 2;
        }

        public (int Pc, int Pos) Pop()
        {
            StackCount -= 2;
            return (_stack![StackCount], _stack[StackCount + 1]);
        }

        /// <summary>Marks (split, pos) visited; true when it already was.</summary>
        public readonly bool TestAndSet(int split, int pos)
        {
            long bit = ((long)split * MemoStride) + pos;
            ref ulong word = ref Memo[bit >> 6];
            ulong mask = 1UL << (int)(bit & 63);
            bool seen = (word & mask) != 0;
            word |= mask;
            return seen;
        }

        public void EnsureMemo(int words)
        {
            if (Memo.Length < words)
            {
                ArrayPool<ulong>.Shared.Return(Memo);
                Memo = ArrayPool<ulong>.Shared.Rent(words);
            }
        }

        private void Grow()
        {
            int[] bigger = ArrayPool<int>.Shared.Rent(Math.Max(256, (_stack?.Length ?? 0) * 2));
            if (_stack is not null)
            {
                _stack.AsSpan(0, StackCount).CopyTo(bigger);
                ArrayPool<int>.Shared.Return(_stack);
            }

            _stack = bigger;
        }

        public void Dispose()
        {
            if (_stack is not null)
            {
                ArrayPool<int>.Shared.Return(_stack);
                _stack = null;
            }

            if (Memo.Length > 0)
            {
                ArrayPool<ulong>.Shared.Return(Memo);
                Memo = [];
            }
        }
    }

    private enum OpCode : byte
    {
        Char,
        Class,
        Any,
        Split,
        Jump,
        AssertStart,
        AssertEnd,
        WordBoundary,
        NotWordBoundary,
        Look,
        Match,
    }

    /// <summary>
    /// One instruction. Char: A = code point. Class: A = class. Split: try A, else B; C = split index.
    /// Jump: A. Look: A = sub-program start, B = 1 when negative, C = continuation.
    /// </summary>
    private readonly record struct Instruction(OpCode Op, int A = 0, int B = 0, int C = 0);

    /// <summary>A bracket expression or class escape (ranges, class escapes, negation), or the union of two classes.</summary>
    internal sealed class CharClass
    {
        private readonly int[] _ranges; // sorted, non-overlapping [first, last] pairs
        private readonly bool _negated;
        private readonly ClassEscape[] _escapes;
        private readonly CharClass? _left;
        private readonly CharClass? _right;
        private readonly bool[]? _byteTable;

        public CharClass(List<(int First, int Last)> ranges, List<ClassEscape> escapes, bool negated, bool byteAlphabet)
        {
            ranges.Sort();
            var merged = new List<int>();
            foreach ((int first, int last) in ranges)
            {
                if (merged.Count > 0 && first <= merged[^1] + 1)
                {
                    merged[^1] = Math.Max(merged[^1], last);
                }
                else
                {
                    merged.Add(first);
                    merged.Add(last);
                }
            }

            _ranges = merged.ToArray();
            _escapes = escapes.ToArray();
            _negated = negated;
            _byteTable = byteAlphabet ? Table() : null;
        }

        private CharClass(CharClass left, CharClass right, bool byteAlphabet)
        {
            _ranges = [];
            _escapes = [];
            _left = left;
            _right = right;
            _byteTable = byteAlphabet ? Table() : null;
        }

        /// <summary>The union of two classes (for first-character sets).</summary>
        public static CharClass Union(CharClass left, CharClass right, bool byteAlphabet) => new(left, right, byteAlphabet);

        public bool Matches(int c) => _byteTable is not null && (uint)c < 256 ? _byteTable[c] : Evaluate(c);

        private bool[] Table()
        {
            var table = new bool[256];
            for (int c = 0; c < 256; c++)
            {
                table[c] = Evaluate(c);
            }

            return table;
        }

        private bool Evaluate(int c)
        {
            if (_left is not null)
            {
                return _left.Matches(c) || _right!.Matches(c);
            }

            bool inSet = InRanges(c);
            if (!inSet)
            {
                foreach (ClassEscape e in _escapes)
                {
                    if (e.Matches(c))
                    {
                        inSet = true;
                        break;
                    }
                }
            }

            return inSet != _negated;
        }

        private bool InRanges(int c)
        {
            int lo = 0, hi = (_ranges.Length / 2) - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >> 1;
                if (c < _ranges[mid * 2])
                {
                    hi = mid - 1;
                }
                else if (c > _ranges[(mid * 2) + 1])
                {
                    lo = mid + 1;
                }
                else
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>A class escape inside or outside brackets: \s \S \d \D \w \W (C locale, ASCII only).</summary>
    internal readonly record struct ClassEscape(char Kind, bool Negated)
    {
        public bool Matches(int c)
        {
            bool member = Kind switch
            {
                's' => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r',
                'd' => c is >= '0' and <= '9',
                _ => IsWordChar(c),
            };
            return member != Negated;
        }
    }

    /// <summary>A node of the parsed pattern.</summary>
    private abstract class Node
    {
        public abstract bool CanBeEmpty { get; }

        /// <summary>The class of characters a match can start with, or null when unknown (e.g. a lookaround first).</summary>
        public abstract CharClass? FirstChars(List<CharClass> classes);
    }

    private sealed class CharNode(int value, bool byteAlphabet) : Node
    {
        public int Value { get; } = value;

        public override bool CanBeEmpty => false;

        public override CharClass? FirstChars(List<CharClass> classes) => new([(Value, Value)], [], false, byteAlphabet);
    }

    private sealed class ClassNode(int index) : Node
    {
        public int Index { get; } = index;

        public override bool CanBeEmpty => false;

        public override CharClass? FirstChars(List<CharClass> classes) => classes[Index];
    }

    private sealed class AnyNode(bool byteAlphabet) : Node
    {
        public override bool CanBeEmpty => false;

        public override CharClass? FirstChars(List<CharClass> classes) => new([('\n', '\n'), ('\r', '\r')], [], true, byteAlphabet);
    }

    private sealed class AssertNode(OpCode op) : Node
    {
        public OpCode Op { get; } = op;

        public override bool CanBeEmpty => true;

        public override CharClass? FirstChars(List<CharClass> classes) => null;
    }

    private sealed class LookNode(Node body, bool negative) : Node
    {
        public Node Body { get; } = body;

        public bool Negative { get; } = negative;

        public override bool CanBeEmpty => true;

        public override CharClass? FirstChars(List<CharClass> classes) => null;
    }

    private sealed class RepeatNode(Node body, int min, int max, bool greedy) : Node
    {
        public Node Body { get; } = body;

        public int Min { get; } = min;

        /// <summary>-1 for unbounded.</summary>
        public int Max { get; } = max;

        public bool Greedy { get; } = greedy;

        public override bool CanBeEmpty => Min == 0 || Body.CanBeEmpty;

        public override CharClass? FirstChars(List<CharClass> classes) => Min == 0 ? null : Body.FirstChars(classes);
    }

    private sealed class SequenceNode(List<Node> items, bool byteAlphabet) : Node
    {
        public List<Node> Items { get; } = items;

        public override bool CanBeEmpty => Items.All(i => i.CanBeEmpty);

        public override CharClass? FirstChars(List<CharClass> classes)
        {
            CharClass? result = null;
            foreach (Node item in Items)
            {
                if (item is AssertNode or LookNode)
                {
                    return null;
                }

                if (item is RepeatNode { Min: 0 } optional)
                {
                    CharClass? inner = optional.Body.FirstChars(classes);
                    if (inner is null)
                    {
                        return null;
                    }

                    result = result is null ? inner : CharClass.Union(result, inner, byteAlphabet);
                    continue;
                }

                CharClass? first = item.FirstChars(classes);
                if (first is null)
                {
                    return null;
                }

                return result is null ? first : CharClass.Union(result, first, byteAlphabet);
            }

            return null; // all optional: could start anywhere
        }
    }

    private sealed class AlternationNode(List<Node> options, bool byteAlphabet) : Node
    {
        public List<Node> Options { get; } = options;

        public override bool CanBeEmpty => Options.Any(o => o.CanBeEmpty);

        public override CharClass? FirstChars(List<CharClass> classes)
        {
            CharClass? result = null;
            foreach (Node option in Options)
            {
                CharClass? first = option.FirstChars(classes);
                if (first is null)
                {
                    return null;
                }

                result = result is null ? first : CharClass.Union(result, first, byteAlphabet);
            }

            return result;
        }
    }

    /// <summary>A recursive-descent parser for the ECMAScript subset llama.cpp's patterns use.</summary>
    private sealed class Parser(int[] source, bool byteAlphabet)
    {
        private int _position;

        public List<CharClass> Classes { get; } = [];

        public Node ParseAll()
        {
            Node node = ParseAlternation();
            if (_position != source.Length)
            {
                throw Error("unexpected ')'");
            }

            return node;
        }

        private Node ParseAlternation()
        {
            var options = new List<Node> { ParseSequence() };
            while (Peek() == '|')
            {
                _position++;
                options.Add(ParseSequence());
            }

            return options.Count == 1 ? options[0] : new AlternationNode(options, byteAlphabet);
        }

        private Node ParseSequence()
        {
            var items = new List<Node>();
            while (_position < source.Length && Peek() != '|' && Peek() != ')')
            {
                Node atom = ParseAtom();
                items.Add(ParseQuantifier(atom));
            }

            return items.Count == 1 ? items[0] : new SequenceNode(items, byteAlphabet);
        }

        private Node ParseQuantifier(Node atom)
        {
            int min, max;
            switch (Peek())
            {
                case '*':
                    min = 0;
                    max = -1;
                    _position++;
                    break;
                case '+':
                    min = 1;
                    max = -1;
                    _position++;
                    break;
                case '?':
                    min = 0;
                    max = 1;
                    _position++;
                    break;
                case '{' when TryParseBraces(out min, out max):
                    break;
                default:
                    return atom;
            }

            bool greedy = true;
            if (Peek() == '?')
            {
                greedy = false;
                _position++;
            }

            if (atom is AssertNode or LookNode)
            {
                throw Error("quantified assertion");
            }

            if (atom.CanBeEmpty && max != 1)
            {
                throw Error("a repeated group that can match the empty string");
            }

            return new RepeatNode(atom, min, max, greedy);
        }

        private bool TryParseBraces(out int min, out int max)
        {
            int start = _position;
            _position++;
            min = ParseNumber();
            max = min;
            if (min < 0)
            {
                _position = start;
                return false;
            }

            if (Peek() == ',')
            {
                _position++;
                max = Peek() == '}' ? -1 : ParseNumber();
            }

            if (Peek() != '}' || (max >= 0 && max < min))
            {
                throw Error("malformed {n,m}");
            }

            _position++;
            return true;
        }

        private int ParseNumber()
        {
            int value = -1;
            while (_position < source.Length && source[_position] is >= '0' and <= '9')
            {
                value = (Math.Max(value, 0) * 10) + (source[_position] - '0');
                _position++;
            }

            return value;
        }

        private Node ParseAtom()
        {
            int c = source[_position++];
            switch (c)
            {
                case '(':
                    {
                        Node node;
                        if (Peek() == '?')
                        {
                            _position++;
                            int kind = source[_position++];
                            Node body = ParseAlternation();
                            node = kind switch
                            {
                                ':' => body,
                                '=' => new LookNode(body, negative: false),
                                '!' => new LookNode(body, negative: true),
                                _ => throw Error("unsupported group"),
                            };
                        }
                        else
                        {
                            node = ParseAlternation(); // captures do not matter (std::regex::nosubs)
                        }

                        if (Peek() != ')')
                        {
                            throw Error("missing ')'");
                        }

                        _position++;
                        return node;
                    }

                case '[':
                    return new ClassNode(ParseBracket());
                case '.':
                    return new AnyNode(byteAlphabet);
                case '^':
                    return new AssertNode(OpCode.AssertStart);
                case '$':
                    return new AssertNode(OpCode.AssertEnd);
                case '\\':
                    return ParseEscapeAtom();
                case '*' or '+' or '?' or ')':
                    throw Error($"unexpected '{(char)c}'");
                default:
                    return new CharNode(c, byteAlphabet);
            }
        }

        private Node ParseEscapeAtom()
        {
            int c = source[_position++];
            switch (c)
            {
                case 'b':
                    return new AssertNode(OpCode.WordBoundary);
                case 'B':
                    return new AssertNode(OpCode.NotWordBoundary);
                case 's' or 'S' or 'd' or 'D' or 'w' or 'W':
                    Classes.Add(new CharClass([], [new ClassEscape(char.ToLowerInvariant((char)c), char.IsUpper((char)c))], negated: false, byteAlphabet));
                    return new ClassNode(Classes.Count - 1);
                default:
                    return new CharNode(EscapedChar(c), byteAlphabet);
            }
        }

        /// <summary>The character of an identity or control escape.</summary>
        private int EscapedChar(int c)
        {
            switch (c)
            {
                case 'r': return '\r';
                case 'n': return '\n';
                case 't': return '\t';
                case 'v': return '\v';
                case 'f': return '\f';
                case '0': return 0;
                case 'x':
                    return ParseHex(2);
                case 'u':
                    return ParseHex(4);
                default:
                    if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9'))
                    {
                        throw Error($"unsupported escape '\\{(char)c}'");
                    }

                    return c;
            }
        }

        private int ParseHex(int digits)
        {
            int value = 0;
            for (int i = 0; i < digits; i++)
            {
                int d = source[_position++];
                int v = d is >= '0' and <= '9' ? d - '0' : d is >= 'a' and <= 'f' ? d - 'a' + 10 : d is >= 'A' and <= 'F' ? d - 'A' + 10 : throw Error("bad hex escape");
                value = (value * 16) + v;
            }

            return value;
        }

        private int ParseBracket()
        {
            bool negated = false;
            if (Peek() == '^')
            {
                negated = true;
                _position++;
            }

            var ranges = new List<(int, int)>();
            var escapes = new List<ClassEscape>();
            bool first = true;
            while (true)
            {
                if (_position >= source.Length)
                {
                    throw Error("missing ']'");
                }

                int c = source[_position++];
                if (c == ']' && !first)
                {
                    break;
                }

                first = false;
                int low;
                if (c == '\\')
                {
                    int e = source[_position++];
                    if (e is 's' or 'S' or 'd' or 'D' or 'w' or 'W')
                    {
                        escapes.Add(new ClassEscape(char.ToLowerInvariant((char)e), char.IsUpper((char)e)));
                        continue;
                    }

                    low = e == 'b' ? '\b' : EscapedChar(e);
                }
                else
                {
                    low = c;
                }

                // A range, unless '-' is the last character of the bracket.
                if (Peek() == '-' && _position + 1 < source.Length && source[_position + 1] != ']')
                {
                    _position++;
                    int hc = source[_position++];
                    int high = hc == '\\' ? EscapedChar(source[_position++]) : hc;
                    if (high < low)
                    {
                        throw Error("range out of order");
                    }

                    ranges.Add((low, high));
                }
                else
                {
                    ranges.Add((low, low));
                }
            }

            Classes.Add(new CharClass(ranges, escapes, negated, byteAlphabet));
            return Classes.Count - 1;
        }

        private int Peek() => _position < source.Length ? source[_position] : -1;

        private NotSupportedException Error(string what) => new($"pre-tokenizer pattern: {what} at {_position}");
    }

    /// <summary>Emits the backtracking program.</summary>
    private sealed class Compiler
    {
        public List<Instruction> Program { get; } = [];

        public int SplitCount { get; private set; }

        public int Add(Instruction instruction)
        {
            Program.Add(instruction);
            return Program.Count - 1;
        }

        public void Emit(Node node)
        {
            EmitNode(node);
        }

        private void EmitNode(Node node)
        {
            switch (node)
            {
                case CharNode c:
                    Add(new Instruction(OpCode.Char, c.Value));
                    break;
                case ClassNode k:
                    Add(new Instruction(OpCode.Class, k.Index));
                    break;
                case AnyNode:
                    Add(new Instruction(OpCode.Any));
                    break;
                case AssertNode a:
                    Add(new Instruction(a.Op));
                    break;
                case SequenceNode s:
                    foreach (Node item in s.Items)
                    {
                        EmitNode(item);
                    }

                    break;
                case AlternationNode alt:
                    {
                        var jumps = new List<int>();
                        for (int i = 0; i < alt.Options.Count; i++)
                        {
                            if (i < alt.Options.Count - 1)
                            {
                                int split = Add(default);
                                EmitNode(alt.Options[i]);
                                jumps.Add(Add(default));
                                Program[split] = new Instruction(OpCode.Split, split + 1, Program.Count, SplitCount++);
                            }
                            else
                            {
                                EmitNode(alt.Options[i]);
                            }
                        }

                        foreach (int j in jumps)
                        {
                            Program[j] = new Instruction(OpCode.Jump, Program.Count);
                        }

                        break;
                    }

                case RepeatNode r:
                    EmitRepeat(r);
                    break;
                case LookNode look:
                    {
                        // Look: A = body (emitted out of line, ending in Match), B = negative, C = continuation.
                        int at = Add(default);
                        int jumpOver = Add(default);
                        int body = Program.Count;
                        EmitNode(look.Body);
                        Add(new Instruction(OpCode.Match));
                        Program[at] = new Instruction(OpCode.Look, body, look.Negative ? 1 : 0, jumpOver);
                        Program[jumpOver] = new Instruction(OpCode.Jump, Program.Count);
                        break;
                    }

                default:
                    throw new NotSupportedException(node.GetType().Name);
            }
        }

        private void EmitRepeat(RepeatNode r)
        {
            for (int i = 0; i < r.Min; i++)
            {
                EmitNode(r.Body);
            }

            if (r.Max < 0)
            {
                // loop: Split(body, exit); body; Jump loop
                int loop = Add(default);
                EmitNode(r.Body);
                Add(new Instruction(OpCode.Jump, loop));
                Program[loop] = Choice(loop + 1, Program.Count, r.Greedy);
                return;
            }

            var splits = new List<int>();
            for (int i = r.Min; i < r.Max; i++)
            {
                splits.Add(Add(default));
                EmitNode(r.Body);
            }

            int exit = Program.Count;
            foreach (int s in splits)
            {
                Program[s] = Choice(s + 1, exit, r.Greedy);
            }
        }

        private Instruction Choice(int body, int exit, bool greedy) =>
            greedy ? new Instruction(OpCode.Split, body, exit, SplitCount++) : new Instruction(OpCode.Split, exit, body, SplitCount++);
    }
}
