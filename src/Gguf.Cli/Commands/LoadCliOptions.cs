using System.CommandLine;
using Gguf.Loading;

namespace Gguf.Cli.Commands;

/// <summary>The options <c>gguf load</c> and <c>gguf bench load</c> share, and their parsing.</summary>
internal static class LoadCliOptions
{
    /// <summary><c>--device host|cuda[:N]</c>.</summary>
    internal static Option<string> Device()
    {
        var option = new Option<string>("--device")
        {
            Description = "Where to load: host (aligned native memory) or cuda[:N] (a CUDA GPU).",
            DefaultValueFactory = _ => "host",
        };
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not null && !LoadCommand.TryParseDevice(value, out _, out _))
            {
                result.AddError($"--device must be host, cuda or cuda:N, not '{value}'");
            }
        });
        return option;
    }

    /// <summary><c>--chunk-size</c> with units (4096, 64KiB, 1MiB).</summary>
    internal static Option<int> ChunkSize() => new("--chunk-size")
    {
        Description = "The most bytes copied in one step (4KiB to 1GiB; units B, KiB, MiB, GiB).",
        DefaultValueFactory = _ => 1 << 20,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            try
            {
                long bytes = ByteSizeParser.Parse(text);
                if (bytes is < 4096 or > 1 << 30)
                {
                    result.AddError($"--chunk-size must be between 4KiB and 1GiB, not '{text}'");
                    return 0;
                }

                return (int)bytes;
            }
            catch (FormatException e)
            {
                result.AddError($"--chunk-size: {e.Message}");
                return 0;
            }
        },
    };

    /// <summary><c>--mode auto|mmap|read|direct</c>.</summary>
    internal static Option<string> Mode()
    {
        var option = new Option<string>("--mode")
        {
            Description = "How to read the file: auto (read if the file is mostly cached, else direct), mmap (copy from the mapping), read (positional reads) or direct (O_DIRECT, past the page cache).",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "mmap", "read", "direct");
        return option;
    }

    internal static LoadMode ParseMode(string text) => text switch
    {
        "mmap" => LoadMode.Mmap,
        "read" => LoadMode.Read,
        "direct" => LoadMode.Direct,
        _ => LoadMode.Auto,
    };
}
