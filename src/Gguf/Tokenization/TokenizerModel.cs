namespace Gguf.Tokenization;

/// <summary>The kind of vocabulary, from <c>tokenizer.ggml.model</c> (llama.cpp's <c>llama_vocab_type</c>).</summary>
public enum TokenizerModel
{
    /// <summary>SentencePiece with byte fallback (<c>llama</c>): score-ordered bigram merges.</summary>
    SentencePiece = 1,

    /// <summary>Byte-level BPE (<c>gpt2</c>): a pre-tokenizer named by <c>tokenizer.ggml.pre</c>, then ranked merges.</summary>
    BytePairEncoding = 2,

    /// <summary>WordPiece (<c>bert</c>): BERT normalization, then greedy longest-prefix matching.</summary>
    WordPiece = 3,

    /// <summary>Unigram (<c>t5</c>): SentencePiece's normalization (precompiled charsmap), then the best-scoring segmentation.</summary>
    Unigram = 4,
}
