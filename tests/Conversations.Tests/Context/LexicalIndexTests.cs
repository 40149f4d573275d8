using Conversations.Grains.Memory;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>The lexical side of hybrid recall: plurals and singulars are one word, codes and numbers are kept whole.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class LexicalIndexTests
{
    [Theory]
    [InlineData("lockers", "locker")]
    [InlineData("cities", "city")]
    [InlineData("pets", "pet")]
    [InlineData("glass", "glass")]
    [InlineData("bus", "bus")]
    [InlineData("ab12345s", "ab12345s")]
    public void Plurals_are_stemmed_to_their_singular_and_codes_are_left_whole(string word, string stem) => Assert.Equal(stem, LexicalIndex.Stem(word));

    [Fact]
    public void A_question_in_the_plural_finds_the_statement_in_the_singular_by_its_rare_word()
    {
        var index = new LexicalIndex();
        for (var i = 0; i < 200; i++)
        {
            index.Add($"filler-{i}", $"Tell me one thing about topic number {i}.");
        }

        index.Add("wanted", "My gym locker is number 214.");

        Assert.Equal("wanted", Assert.Single(index.Search("Which lockers do I use?", 5)).Id);
    }
}
