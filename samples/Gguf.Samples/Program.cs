using Gguf.Samples;

// dotnet run --project samples/Gguf.Samples -- <example> FILE [arguments]
return args switch
{
    ["inspect", string file] => Inspect.Run(file),
    ["load", string file] => LoadWithProgress.Run(file),
    ["tokenize", string file, string text] => Tokenize.Run(file, text),
    ["dequantize", string file, string tensor] => Dequantize.Run(file, tensor),
    ["tour", string file] => Tour(file),
    _ => Usage(),
};

static int Tour(string file)
{
    // Every example in turn on one file, as the Native AOT test runs it.
    int code = Inspect.Run(file);
    code = code != 0 ? code : LoadWithProgress.Run(file);
    code = code != 0 ? code : Tokenize.Run(file, "Hello, world! 123");
    return code != 0 ? code : Dequantize.Run(file, "output_norm.weight");
}

static int Usage()
{
    Console.Error.WriteLine("usage: Gguf.Samples inspect FILE | load FILE | tokenize FILE TEXT | dequantize FILE TENSOR | tour FILE");
    return 2;
}
