using Gguf.Cli;

namespace Gguf.Tests.Support;

/// <summary>Runs the gguf tool in process and captures its exit code, stdout and stderr.</summary>
public static class CliRunner
{
    /// <summary>Runs the tool, cancelled when the test is.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args) => Run(TestContext.Current.CancellationToken, args);

    /// <summary>Runs the tool with a cancellation token of the caller's.</summary>
    public static (int Code, string Out, string Err) Run(CancellationToken cancellationToken, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.RunAsync(args, output, error, cancellationToken).GetAwaiter().GetResult();
        return (code, output.ToString(), error.ToString());
    }
}
