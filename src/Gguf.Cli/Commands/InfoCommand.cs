using System.CommandLine;
using Gguf.Format;
using Gguf.Model;
using Spectre.Console;

namespace Gguf.Cli.Commands;

/// <summary><c>gguf info FILE</c>: a human summary of a file.</summary>
internal static class InfoCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "The GGUF file to describe." };
        var command = new Command("info", "Summarize a GGUF file: version, architecture, counts, tensor bytes by type, layout.") { file };
        command.SetAction(parse => CliErrors.Guard(console, () =>
        {
            using GgufFile gguf = GgufFile.Open(parse.GetValue(file)!);
            Write(console, gguf);
            return 0;
        }));
        return command;
    }

    /// <summary>Writes the summary.</summary>
    public static void Write(CliConsole console, GgufFile gguf)
    {
        TextWriter o = console.Out;
        o.WriteLine($"file:         {gguf.Path} ({gguf.FileSize:N0} bytes)");
        o.WriteLine($"version:      GGUF v{gguf.Version}");
        o.WriteLine($"architecture: {gguf.Architecture ?? "(none)"}");
        o.WriteLine($"name:         {gguf.Metadata.GetStringOrNull(GgufKeys.Name) ?? "(none)"}");
        o.WriteLine($"metadata:     {gguf.Metadata.Count} keys");
        o.WriteLine($"tensors:      {gguf.Tensors.Count} ({gguf.Header.TotalTensorBytes:N0} bytes, {gguf.Tensors.Sum(t => t.ElementCount):N0} elements)");
        o.WriteLine($"alignment:    {gguf.Alignment}");
        o.WriteLine($"data offset:  {gguf.DataOffset}");
        WriteHyperparameters(o, gguf);

        var byType = gguf.Tensors
            .GroupBy(t => t.TypeInfo.Name)
            .Select(g => (Type: g.Key, Count: g.Count(), Bytes: g.Sum(t => t.ByteSize)))
            .OrderByDescending(g => g.Bytes)
            .ToList();
        if (byType.Count == 0)
        {
            return;
        }

        if (console.IsTerminal)
        {
            var table = new Table().AddColumn("type").AddColumn(new TableColumn("tensors").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned());
            foreach ((string type, int count, long bytes) in byType)
            {
                table.AddRow(type, count.ToString("N0"), bytes.ToString("N0"));
            }

            AnsiConsole.Write(table);
        }
        else
        {
            o.WriteLine("tensor bytes by type:");
            foreach ((string type, int count, long bytes) in byType)
            {
                o.WriteLine($"  {type,-8} {count,8:N0} tensors {bytes,20:N0} bytes");
            }
        }
    }

    /// <summary>The typed hyperparameters (issue 12), read leniently: problems are counted here and listed by <c>gguf check</c>.</summary>
    private static void WriteHyperparameters(TextWriter o, GgufFile gguf)
    {
        if (gguf.Architecture is null)
        {
            return;
        }

        var h = Gguf.Architectures.ModelHyperparameters.Read(gguf, out IReadOnlyList<Gguf.Architectures.ArchitectureProblem> problems);
        string Layers(IReadOnlyList<long> v) => v.Count > 0 && v.Any(x => x != v[0]) ? "[" + string.Join(", ", v) + "]" : (v.Count > 0 ? v[0] : 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        o.WriteLine($"hyperparameters{(h.Kind == Gguf.Architectures.ArchitectureKind.Unknown ? " (generic view)" : string.Empty)}{(problems.Count > 0 ? $" ({problems.Count} problem(s): see gguf check)" : string.Empty)}:");
        o.WriteLine($"  layers {h.BlockCount}, context {h.ContextLength}, embedding {h.EmbeddingLength}, feed-forward {Layers(h.FeedForwardLengths)}, vocabulary {h.VocabularySize}");
        o.WriteLine($"  heads {Layers(h.HeadCounts)}, kv heads {Layers(h.HeadCountsKv)}, key/value length {h.KeyLength}/{h.ValueLength}");
        o.WriteLine($"  rope: dimensions {h.RopeDimensionCount}, freq base {h.RopeFreqBase}, freq scale {h.RopeFreqScale}, scaling {h.RopeScaling.ToString().ToLowerInvariant()}");
        if (h.RmsNormEpsilon is float rms)
        {
            o.WriteLine($"  rms norm epsilon {rms}");
        }

        if (h.HasExperts)
        {
            o.WriteLine($"  experts {h.ExpertCount} ({h.ExpertUsedCount} used), expert feed-forward {h.ExpertFeedForwardLength}, shared {h.ExpertSharedFeedForwardLength}");
        }

        if (h.HasSlidingWindow)
        {
            o.WriteLine($"  sliding window {h.SlidingWindow} on layers {string.Join(",", Enumerable.Range(0, h.BlockCount).Where(h.IsSlidingWindowLayer))}");
        }

        if (h.AttentionLogitSoftcapping != 0 || h.FinalLogitSoftcapping != 0)
        {
            o.WriteLine($"  soft-capping: attention {h.AttentionLogitSoftcapping}, final {h.FinalLogitSoftcapping}");
        }
    }
}
