namespace Gguf.Tokenization;

/// <summary>
/// A BPE pre-tokenizer: the list of patterns llama.cpp applies, in order, for a <c>tokenizer.ggml.pre</c>
/// value (llama-vocab.cpp), each one splitting the pieces the previous ones produced. The GPT-2 and
/// Llama-3 patterns use llama.cpp's hand-written splitters (unicode.cpp), which it substitutes for those
/// exact pattern strings; every other pattern runs through <see cref="SplitRegex"/>.
/// </summary>
internal sealed class PreTokenizer
{
    // The patterns, character for character as llama.cpp (LLamaSharp.Backend.Cpu 0.30.0) holds them.
    internal const string Gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    internal const string Llama3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string Llama3Original = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string Qwen2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string Qwen35 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string Jais2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}";
    internal const string DeepSeekLetters = "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+";
    internal const string DeepSeekPunctuation = "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";
    internal const string DeepSeekCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
    internal const string DeepSeek3Cjk = "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";
    internal const string DeepSeek3Main = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
    internal const string YoutuCjk = "[\uAC00-\uD7A3\u3131-\u318E]+|[\uFF01\u2026\u201C\u201D\u2018\u2019\u2014\uFF1A\uFF1B\uFF0C\u3001-\u303F\uFE30-\uFE4F]+|[\u3105-\u312F]+|[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";
    internal const string YoutuMain = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string Poro = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";
    internal const string Tekken = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string Gpt4o = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string GraniteMulti = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string BailingMoe = "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
    internal const string SeedCoder = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    internal const string ExaoneMoe = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
    internal const string MiniCpm5 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static readonly Spec[] Specs =
    [
        new(["default"], ["[\\p{P}\\$\\+<=>\\^~\\|]+", Gpt2, "\\p{N}+", "[0-9][0-9][0-9]"]),
        new(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"], [Llama3], IgnoreMerges: true, AddBos: true),
        new(["dbrx", "smaug-bpe"], [Llama3]),
        new(["glm4", "chatglm-bpe"], [Llama3], ClearBos: true),
        new(["jais-2"], [Jais2]),
        new(["deepseek-llm"], ["[\r\n]", DeepSeekLetters, DeepSeekPunctuation, "\\s+$", DeepSeekCjk, "\\p{N}+"], CleanSpaces: false),
        new(["deepseek-v3", "hunyuan-dense", "joyai-llm"], ["\\p{N}{1,3}", DeepSeek3Cjk, DeepSeek3Main], CleanSpaces: false),
        new(["youtu"], [YoutuCjk, YoutuMain], CleanSpaces: false, IgnoreMerges: true),
        new(["deepseek-coder"], ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", DeepSeekCjk, "\\p{N}"], CleanSpaces: false),
        new(["falcon"], ["[\\p{P}\\$\\+<=>\\^~\\|`]+", Gpt2, "[0-9][0-9][0-9]"]),
        new(["starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"], ["\\p{N}", Gpt2]),
        new(["command-r", "smollm"], ["\\p{N}", Gpt2], CleanSpaces: false),
        new(["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "mpt", "olmo", "jais", "exaone4"], [Gpt2]),
        new(["jina-v1-en", "jina-v2-code", "roberta-bpe"], [Gpt2], AddSep: true),
        new(["trillion", "granite-docling"], [Gpt2], CleanSpaces: false),
        new(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"], [Qwen2], CleanSpaces: false),
        new(["megrez", "stablelm2"], [Qwen2]),
        new(["qwen35"], [Qwen35], CleanSpaces: false),
        new(["poro-chat"], [Poro], CleanSpaces: false),
        new(["bloom", "gpt3-finnish"], [Poro]),
        new(["viking"], [Poro, "\\p{N}"], CleanSpaces: false),
        new(["tekken"], [Tekken], CleanSpaces: false, IgnoreMerges: true, AddBos: true),
        new(["chameleon"], ["<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}", "[\\p{P}!-/:-@\\[-`{-~]", Gpt2], CleanSpaces: false, AddBos: true),
        new(["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"], [Gpt4o], CleanSpaces: false),
        new(["granite-embed-multi-97m"], [GraniteMulti], CleanSpaces: false, IgnoreMerges: true),
        new(["bailingmoe", "bailingmoe2", "llada-moe"], [BailingMoe], CleanSpaces: false),
        new(["seed-coder"], [SeedCoder], CleanSpaces: false),
        new(["laguna"], ["[^\\n]+|[\\n]+", Qwen2], CleanSpaces: false),
        new(["exaone-moe"], [ExaoneMoe]),
        new(["minicpm5"], ["\\p{N}{1,3}", MiniCpm5], IgnoreMerges: true),
    ];

    private static readonly Dictionary<string, Spec> ByName = BuildIndex();
    private static readonly Dictionary<string, PreTokenizer> Cache = new(StringComparer.Ordinal);

    private readonly Step[] _steps;

    private PreTokenizer(string name, Spec spec)
    {
        Name = name;
        CleanSpaces = spec.CleanSpaces;
        IgnoreMerges = spec.IgnoreMerges;
        AddBos = spec.AddBos;
        ClearBos = spec.ClearBos;
        AddSep = spec.AddSep;
        _steps = spec.Patterns.Select(p => p switch
        {
            Gpt2 => new Step(StepKind.Gpt2, null),
            Llama3 or Llama3Original => new Step(StepKind.Llama3, null),
            _ => new Step(StepKind.Regex, SplitRegex.Create(p)),
        }).ToArray();
        NeedsCollapsed = _steps.Any(s => s.Regex is { Collapsed: true });
        NeedsWide = _steps.Any(s => s.Regex is { Collapsed: false });
    }

    /// <summary>The <c>tokenizer.ggml.pre</c> value (<c>default</c> when the file has none).</summary>
    public string Name { get; }

    /// <summary>Whether decoding cleans spaces before punctuation (llama.cpp's <c>clean_spaces</c>).</summary>
    public bool CleanSpaces { get; }

    /// <summary>Whether a piece that is already a token skips the merges (llama.cpp's <c>ignore_merges</c>).</summary>
    public bool IgnoreMerges { get; }

    /// <summary>Whether the pre-tokenizer turns on BOS before the file's <c>add_bos_token</c> is read.</summary>
    public bool AddBos { get; }

    /// <summary>Whether the pre-tokenizer clears the default BOS id (chatglm).</summary>
    public bool ClearBos { get; }

    /// <summary>Whether the pre-tokenizer turns on <c>add_sep</c> (BERT-like BPE models; reported, not used when encoding).</summary>
    public bool AddSep { get; }

    /// <summary>Whether some pattern runs over the collapsed text.</summary>
    public bool NeedsCollapsed { get; }

    /// <summary>Whether some pattern runs over the code points.</summary>
    public bool NeedsWide { get; }

    /// <summary>Every pre-tokenizer name we support.</summary>
    public static IEnumerable<string> SupportedNames => ByName.Keys;

    /// <summary>The pre-tokenizer for <paramref name="name"/>, or null when llama.cpp's rules for it are not implemented.</summary>
    public static PreTokenizer? ForName(string name)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(name, out PreTokenizer? cached))
            {
                return cached;
            }

            if (!ByName.TryGetValue(name, out Spec? spec))
            {
                return null;
            }

            var created = new PreTokenizer(name, spec);
            Cache[name] = created;
            return created;
        }
    }

    /// <summary>
    /// Splits the code points of one text into pieces (lengths in code points), as llama.cpp's
    /// <c>unicode_regex_split</c>: each pattern splits every piece of the previous one.
    /// </summary>
    public void Split(ReadOnlySpan<int> codePoints, ReadOnlySpan<int> collapsed, ReadOnlySpan<int> wide, ref ValueList<int> pieces, ref ValueList<int> spare, ref SplitRegex.Scratch scratch)
    {
        pieces.Clear();
        if (codePoints.Length == 0)
        {
            return;
        }

        pieces.Add(codePoints.Length);
        foreach (Step step in _steps)
        {
            spare.Clear();
            switch (step.Kind)
            {
                case StepKind.Gpt2:
                    SplitGpt2(codePoints, pieces.Span, ref spare);
                    break;
                case StepKind.Llama3:
                    SplitLlama3(codePoints, pieces.Span, ref spare);
                    break;
                default:
                    step.Regex!.Split(step.Regex.Collapsed ? collapsed : wide, pieces.Span, ref spare, ref scratch);
                    break;
            }

            (pieces, spare) = (spare, pieces);
        }
    }

    /// <summary>
    /// llama.cpp's hand-written GPT-2 splitter (<c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>).
    /// Positions outside the current piece have no flags, as in unicode.cpp.
    /// </summary>
    private static void SplitGpt2(ReadOnlySpan<int> cps, ReadOnlySpan<int> chunks, ref ValueList<int> output)
    {
        int start = 0;
        foreach (int length in chunks)
        {
            int ini = start, end = start + length;
            start = end;
            int pos = ini;
            while (pos < end)
            {
                int cpt = cps[pos];
                byte flags = LlamaUnicode.Flags(cpt);
                if (cpt == '\'' && pos + 1 < end)
                {
                    int next = cps[pos + 1];
                    if (next is 's' or 't' or 'm' or 'd')
                    {
                        output.Add(2);
                        pos += 2;
                        continue;
                    }

                    if (pos + 2 < end)
                    {
                        int next2 = cps[pos + 2];
                        if ((next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l'))
                        {
                            output.Add(3);
                            pos += 3;
                            continue;
                        }
                    }
                }

                int from = pos;
                byte flags2 = cpt == ' ' ? FlagsAt(cps, pos + 1, end) : flags;
                if (LlamaUnicode.IsLetter(flags2))
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (LlamaUnicode.IsLetter(flags2))
                    {
                        flags2 = FlagsAt(cps, ++pos, end);
                    }

                    output.Add(pos - from);
                    continue;
                }

                if (LlamaUnicode.IsNumber(flags2))
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (LlamaUnicode.IsNumber(flags2))
                    {
                        flags2 = FlagsAt(cps, ++pos, end);
                    }

                    output.Add(pos - from);
                    continue;
                }

                if (IsOther(flags2))
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (IsOther(flags2))
                    {
                        flags2 = FlagsAt(cps, ++pos, end);
                    }

                    output.Add(pos - from);
                    continue;
                }

                int spaces = 0;
                while (LlamaUnicode.IsWhitespace(FlagsAt(cps, pos + spaces, end)))
                {
                    spaces++;
                }

                if (spaces > 1 && pos + spaces < end)
                {
                    pos += spaces - 1;
                    output.Add(pos - from);
                    continue;
                }

                if (spaces > 0)
                {
                    pos += spaces;
                    output.Add(pos - from);
                    continue;
                }

                pos++;
                output.Add(1);
            }
        }
    }

    /// <summary>llama.cpp's hand-written Llama-3 splitter (the adapted pattern in <see cref="Llama3"/>).</summary>
    private static void SplitLlama3(ReadOnlySpan<int> cps, ReadOnlySpan<int> chunks, ref ValueList<int> output)
    {
        int start = 0;
        foreach (int length in chunks)
        {
            int ini = start, end = start + length;
            start = end;
            int pos = ini;
            while (pos < end)
            {
                int cpt = cps[pos];
                byte flags = LlamaUnicode.Flags(cpt);
                int from = pos;
                if (cpt == '\'' && pos + 1 < end)
                {
                    int next = LlamaUnicode.ToLower(cps[pos + 1]);
                    if (next is 's' or 't' or 'm' or 'd')
                    {
                        output.Add(2);
                        pos += 2;
                        continue;
                    }

                    if (pos + 2 < end)
                    {
                        int next2 = LlamaUnicode.ToLower(cps[pos + 2]);
                        if ((next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l'))
                        {
                            output.Add(3);
                            pos += 3;
                            continue;
                        }
                    }
                }

                // [^\r\n\p{L}\p{N}]?\p{L}+
                if (!(cpt == '\r' || cpt == '\n' || LlamaUnicode.IsNumber(flags)))
                {
                    if (LlamaUnicode.IsLetter(flags) || LlamaUnicode.IsLetter(FlagsAt(cps, pos + 1, end)))
                    {
                        pos++;
                        while (LlamaUnicode.IsLetter(FlagsAt(cps, pos, end)))
                        {
                            pos++;
                        }

                        output.Add(pos - from);
                        continue;
                    }
                }

                // \p{N}{1,3}
                if (LlamaUnicode.IsNumber(flags))
                {
                    int groupStart = pos;
                    while (LlamaUnicode.IsNumber(FlagsAt(cps, pos, end)))
                    {
                        if (++pos - groupStart >= 3)
                        {
                            output.Add(pos - groupStart);
                            groupStart = pos;
                        }
                    }

                    if (pos > groupStart)
                    {
                        output.Add(pos - groupStart);
                    }

                    continue;
                }

                // <space>?[^\s\p{L}\p{N}]+[\r\n]*
                byte flags2 = cpt == ' ' ? FlagsAt(cps, pos + 1, end) : flags;
                if (!(LlamaUnicode.IsWhitespace(flags2) || LlamaUnicode.IsLetter(flags2) || LlamaUnicode.IsNumber(flags2)))
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (IsOther(flags2))
                    {
                        flags2 = FlagsAt(cps, ++pos, end);
                    }

                    while (pos < end && (cps[pos] == '\r' || cps[pos] == '\n'))
                    {
                        pos++;
                    }

                    output.Add(pos - from);
                    continue;
                }

                int spaces = 0;
                int lastLineEnd = 0;
                while (LlamaUnicode.IsWhitespace(FlagsAt(cps, pos + spaces, end)))
                {
                    int c2 = cps[pos + spaces];
                    if (c2 == '\r' || c2 == '\n')
                    {
                        lastLineEnd = pos + spaces + 1;
                    }

                    spaces++;
                }

                // \s*[\r\n]+
                if (lastLineEnd > 0)
                {
                    pos = lastLineEnd;
                    output.Add(pos - from);
                    continue;
                }

                // \s+(?!\S)
                if (spaces > 1 && pos + spaces < end)
                {
                    pos += spaces - 1;
                    output.Add(pos - from);
                    continue;
                }

                // \s+
                if (spaces > 0)
                {
                    pos += spaces;
                    output.Add(pos - from);
                    continue;
                }

                pos++;
                output.Add(1);
            }
        }
    }

    /// <summary>The flags at a position, or none outside the piece (unicode.cpp's <c>_get_flags</c>).</summary>
    private static byte FlagsAt(ReadOnlySpan<int> cps, int pos, int end) => pos < end ? LlamaUnicode.Flags(cps[pos]) : (byte)0;

    /// <summary><c>[^\s\p{L}\p{N}]</c> inside the piece: not whitespace, letter or number, and flags present.</summary>
    private static bool IsOther(byte flags) =>
        flags != 0 && !LlamaUnicode.IsWhitespace(flags) && !LlamaUnicode.IsLetter(flags) && !LlamaUnicode.IsNumber(flags);

    private static Dictionary<string, Spec> BuildIndex()
    {
        var index = new Dictionary<string, Spec>(StringComparer.Ordinal);
        foreach (Spec spec in Specs)
        {
            foreach (string name in spec.Names)
            {
                index.Add(name, spec);
            }
        }

        return index;
    }

    private enum StepKind
    {
        Gpt2,
        Llama3,
        Regex,
    }

    private sealed record Step(StepKind Kind, SplitRegex? Regex);

    private sealed record Spec(string[] Names, string[] Patterns, bool CleanSpaces = true, bool IgnoreMerges = false, bool AddBos = false, bool ClearBos = false, bool AddSep = false);
}
