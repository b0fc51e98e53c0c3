namespace Gguf; internal static class Placeholder { }
