using System.IO.Hashing;
using System.Text;

namespace Conversations.Grains.Memory;

/// <summary>
/// A text as a sparse vector for Qdrant's lexical side: one dimension per word (<see cref="LexicalIndex.Words"/>, so the
/// same words as the embedded store's BM25), its index the word's 32-bit xxHash and its value the word's count in the text.
/// Qdrant weighs the dimensions by inverse document frequency (the collection's sparse vector has the IDF modifier), which
/// with these counts makes its dot product a BM25-like score without the length normalisation.
/// </summary>
public static class SparseTerms
{
    public static (float Value, uint Index)[] Of(string text) =>
        [.. LexicalIndex.Words(text).GroupBy(word => XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(word))).OrderBy(group => group.Key)
            .Select(group => ((float)group.Count(), group.Key))]; // two words of one hash share a dimension, as hashed features do
}
