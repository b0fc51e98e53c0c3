using Gguf.Loading;
using Gguf.Model;
using Spectre.Console;

namespace Gguf.Cli.Commands;

/// <summary>A load with a progress bar on the terminal: bytes, rate, time left, the current tensor.</summary>
internal static class LoadProgressBar
{
    public static LoadedModel Load(ModelLoader loader, GgufFile gguf, CancellationToken cancellationToken)
    {
        long total = gguf.Tensors.Sum(t => t.ByteSize);
        LoadedModel? model = null;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask task = context.AddTask("loading", maxValue: Math.Max(1, total));
                var progress = new SynchronousProgress(p =>
                {
                    task.Value = p.BytesDone;
                    if (p.CurrentTensor is not null)
                    {
                        task.Description = Markup.Escape(p.CurrentTensor.Length > 40 ? p.CurrentTensor[..40] : p.CurrentTensor);
                    }
                });
                model = loader.Load(gguf, progress, cancellationToken);
                task.Value = task.MaxValue;
            });
        return model!;
    }

    /// <summary>Reports on the loader's thread, in order (unlike <see cref="Progress{T}"/>, which posts).</summary>
    private sealed class SynchronousProgress(Action<LoadProgress> report) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) => report(value);
    }
}
