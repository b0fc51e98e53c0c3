using Gguf.Cli;

return await CliApp.RunAsync(args).ConfigureAwait(false);
