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
}
