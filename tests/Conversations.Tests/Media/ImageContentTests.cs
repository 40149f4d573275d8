using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;
using OpenAI.Conversations;
using OpenAI.Files;
using OpenAI.Responses;

namespace Conversations.Tests.Media;

/// <summary>
/// Images and files in requests, over real HTTP through the official OpenAI .NET SDK: the simulated upstream records what
/// the model received, in OpenAI's shape and in Anthropic's; a conversation keeps an image (by reference) and a later turn
/// still carries it; a route's text-only deployment is skipped, and a route with only such deployments refuses the image.
/// </summary>
[Collection(MediaCollection.Name)]
public sealed class ImageContentTests(MediaFixture fixture)
{
    [Fact]
    public async Task A_chat_image_reaches_the_upstream_as_an_image_url_part_with_its_detail()
    {
        var chat = fixture.Gateway.OpenAI().GetChatClient("vision");
        var marker = Marker();

        ChatCompletion completion = await chat.CompleteChatAsync(new UserChatMessage(
            ChatMessageContentPart.CreateTextPart($"What is this? {marker}"),
            ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(MediaFixture.Pixel), "image/png", ChatImageDetailLevel.High)));

        var image = Part(await Sent(marker), "image_url").GetProperty("image_url");
        Assert.Equal(MediaFixture.DataUrl(MediaFixture.Pixel), image.GetProperty("url").GetString());
        Assert.Equal("high", image.GetProperty("detail").GetString());
        Assert.EndsWith($"Received 1 attachment(s): [image image/png {MediaFixture.Pixel.Length} bytes].", completion.Content[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task What_an_openai_compatible_upstream_receives_with_images_and_files_is_valid_against_openais_request_schema()
    {
        var marker = Marker();
        using var http = fixture.Gateway.Http();

        await Post(http, "/v1/chat/completions", new
        {
            model = "vision",
            messages = new[]
            {
                new
                {
                    role = "user",
                    content = new object[]
                    {
                        new { type = "text", text = marker },
                        new { type = "image_url", image_url = new { url = MediaFixture.DataUrl(MediaFixture.Pixel), detail = "low" } },
                        new { type = "file", file = new { file_data = MediaFixture.DataUrl(MediaFixture.Pdf, "application/pdf"), filename = "spec.pdf" } },
                    },
                },
            },
        });

        var sent = await Sent(marker);
        Assert.Equal(["text", "image_url", "file"], sent.GetProperty("messages")[0].GetProperty("content").EnumerateArray().Select(p => p.GetProperty("type").GetString()));
        Assert.Empty(Api.OpenApi.OpenAIDocument.Instance.Check("CreateChatCompletionRequest", sent));
        var broken = System.Text.Json.Nodes.JsonNode.Parse(sent.GetRawText())!;
        broken["messages"]![0]!["content"]![1]!["image_url"] = new System.Text.Json.Nodes.JsonObject(); // no url: the check is not vacuous
        Assert.NotEmpty(Api.OpenApi.OpenAIDocument.Instance.Check("CreateChatCompletionRequest", JsonSerializer.SerializeToElement(broken)));
    }

    [Fact]
    public async Task A_chat_image_reaches_anthropic_as_a_base64_image_block()
    {
        var marker = Marker();
        using var http = fixture.Gateway.Http();

        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(JsonSerializer.Serialize(new
        {
            model = "claude",
            messages = new[] { new { role = "user", content = new object[] { new { type = "text", text = marker }, new { type = "image_url", image_url = new { url = MediaFixture.DataUrl(MediaFixture.Pixel) } } } } },
        })));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var source = Part(await Sent(marker), "image").GetProperty("source");
        Assert.Equal("base64", source.GetProperty("type").GetString());
        Assert.Equal("image/png", source.GetProperty("media_type").GetString());
        Assert.Equal(Convert.ToBase64String(MediaFixture.Pixel), source.GetProperty("data").GetString());
    }

    [Fact]
    public async Task An_uploaded_file_is_used_by_id_in_a_conversation_turn_and_a_later_turn_still_carries_it()
    {
        var client = fixture.Gateway.OpenAI();
        OpenAIFile file = await client.GetOpenAIFileClient().UploadFileAsync(BinaryData.FromBytes(MediaFixture.Pixel), "pixel.png", FileUploadPurpose.Vision);
        ConversationResource conversation = await client.GetConversationClient().CreateConversationAsync(new ConversationCreationOptions());
        var responses = client.GetResponsesClient();
        var (first, second) = (Marker(), Marker());

        ResponseResult turn = await responses.CreateResponseAsync(new CreateResponseOptions("vision", [ResponseItem.CreateUserMessageItem(
            [ResponseContentPart.CreateInputTextPart($"Describe it. {first}"), ResponseContentPart.CreateInputImagePart(file.Id, ResponseImageDetailLevel.Low)])])
        {
            ConversationOptions = new ResponseConversationOptions(conversation.Id),
        });
        await responses.CreateResponseAsync(new CreateResponseOptions("vision", [ResponseItem.CreateUserMessageItem($"And again? {second}")])
        {
            ConversationOptions = new ResponseConversationOptions(conversation.Id),
        });

        Assert.Contains("Received 1 attachment(s): [image image/png", turn.GetOutputText(), StringComparison.Ordinal);
        var image = Part((await SentAll(first))[0], "image_url").GetProperty("image_url");
        Assert.Equal(MediaFixture.DataUrl(MediaFixture.Pixel), image.GetProperty("url").GetString());
        Assert.Equal("low", image.GetProperty("detail").GetString());
        var later = await Sent(second);
        Assert.Equal(MediaFixture.DataUrl(MediaFixture.Pixel), later.GetProperty("messages")[0].GetProperty("content").EnumerateArray()
            .Single(p => p.GetProperty("type").GetString() == "image_url").GetProperty("image_url").GetProperty("url").GetString());

        using var http = fixture.Gateway.Http();
        var items = JsonDocument.Parse(await http.GetStringAsync($"/v1/conversations/{conversation.Id}/items?order=asc")).RootElement.GetProperty("data");
        var stored = items[0].GetProperty("content")[1];
        Assert.Equal("input_image", stored.GetProperty("type").GetString());
        Assert.Equal(file.Id, stored.GetProperty("file_id").GetString());
        Assert.Equal("low", stored.GetProperty("detail").GetString());
        Assert.DoesNotContain(Convert.ToBase64String(MediaFixture.Pixel), items.GetRawText(), StringComparison.Ordinal); // items hold references, not bytes
    }

    [Fact]
    public async Task An_inline_image_stored_with_conversation_items_is_sent_with_a_later_turn()
    {
        using var http = fixture.Gateway.Http();
        var marker = Marker();
        var created = await Post(http, "/v1/conversations", new
        {
            items = new[] { new { type = "message", role = "user", content = new object[] { new { type = "input_text", text = "look" }, new { type = "input_image", image_url = MediaFixture.DataUrl(MediaFixture.Pixel) } } } },
        });
        var conversation = created.GetProperty("id").GetString();

        await Post(http, "/v1/responses", new { model = "vision", conversation, input = $"What did I show you? {marker}" });

        var history = (await Sent(marker)).GetProperty("messages")[0];
        Assert.Equal(MediaFixture.DataUrl(MediaFixture.Pixel), history.GetProperty("content").EnumerateArray()
            .Single(p => p.GetProperty("type").GetString() == "image_url").GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public async Task A_text_only_deployment_is_skipped_for_an_image_and_still_serves_text()
    {
        var chat = fixture.Gateway.OpenAI().GetChatClient("mixed");
        var (withImage, textOnly) = (Marker(), Marker());

        ChatCompletion seen = await chat.CompleteChatAsync(new UserChatMessage(
            ChatMessageContentPart.CreateTextPart(withImage), ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(MediaFixture.Pixel), "image/png")));
        ChatCompletion read = await chat.CompleteChatAsync(new UserChatMessage(textOnly));

        Assert.Contains("Simulated reply from sim-upstream", seen.Content[0].Text, StringComparison.Ordinal);
        Assert.Single(await SentAll(withImage));
        Assert.Contains("Simulated reply from words", read.Content[0].Text, StringComparison.Ordinal); // the first deployment, in-process
        Assert.Empty(await SentAll(textOnly));
    }

    [Fact]
    public async Task An_image_for_a_route_without_vision_is_a_400_naming_the_part_and_nothing_is_sent()
    {
        using var http = fixture.Gateway.Http();
        var marker = Marker();

        using var response = await Chat(http, "blind", marker, new { type = "image_url", image_url = new { url = MediaFixture.DataUrl(MediaFixture.Pixel) } });

        var error = await response.AssertOpenAIError(HttpStatusCode.BadRequest, "messages[0].content[1].image_url.url");
        Assert.Equal("unsupported_input_modality", error.GetProperty("code").GetString());
        Assert.Empty(await SentAll(marker));
    }

    [Theory]
    [InlineData("pdf-as-png", "messages[0].content[1].image_url.url", "unsupported_content_type")]
    [InlineData("png-as-jpeg", "messages[0].content[1].image_url.url", "content_type_mismatch")]
    [InlineData("not-an-image", "messages[0].content[1].image_url.url", "unsupported_content_type")]
    [InlineData("too-large", "messages[0].content[1].image_url.url", "content_too_large")]
    [InlineData("not-base64", "messages[0].content[1].image_url.url", "invalid_base64")]
    [InlineData("bad-detail", "messages[0].content[1].image_url.detail", "invalid_value")]
    [InlineData("unknown-file", "messages[0].content[1].file.file_id", "file_not_found")]
    [InlineData("ftp-url", "messages[0].content[1].image_url.url", "invalid_image_url")]
    public async Task Bad_image_content_is_a_400_naming_the_part_and_nothing_is_sent(string kind, string param, string code)
    {
        using var http = fixture.Gateway.Http();
        var marker = Marker();
        object part = kind switch
        {
            "pdf-as-png" => Image(MediaFixture.DataUrl(MediaFixture.Pdf)),
            "png-as-jpeg" => Image(MediaFixture.DataUrl(MediaFixture.Pixel, "image/jpeg")),
            "not-an-image" => Image(MediaFixture.DataUrl("just some words"u8.ToArray(), "image/png")),
            "too-large" => Image(MediaFixture.DataUrl(MediaFixture.PngOfSize(10, 10).Concat(new byte[MediaFixture.MaxPartBytes]).ToArray())),
            "not-base64" => Image("data:image/png;base64,!!!notbase64!!!"),
            "bad-detail" => new { type = "image_url", image_url = new { url = MediaFixture.DataUrl(MediaFixture.Pixel), detail = "ultra" } },
            "unknown-file" => new { type = "file", file = new { file_id = "file-doesnotexist" } },
            _ => Image("ftp://example.com/cat.png"),
        };

        using var response = await Chat(http, "vision", marker, part);

        Assert.Equal(code, (await response.AssertOpenAIError(HttpStatusCode.BadRequest, param)).GetProperty("code").GetString());
        Assert.Empty(await SentAll(marker));
    }

    [Fact]
    public async Task Another_tenants_file_id_is_a_400_as_if_it_did_not_exist()
    {
        OpenAIFile theirs = await fixture.Gateway.OpenAI(GatewayFactory.OtherTenantKey).GetOpenAIFileClient()
            .UploadFileAsync(BinaryData.FromBytes(MediaFixture.Pixel), "theirs.png", FileUploadPurpose.Vision);
        using var http = fixture.Gateway.Http();
        var marker = Marker();

        using var chat = await Chat(http, "vision", marker, new { type = "file", file = new { file_id = theirs.Id } });
        using var response = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(JsonSerializer.Serialize(new
        {
            model = "vision",
            input = new[] { new { role = "user", content = new object[] { new { type = "input_text", text = marker }, new { type = "input_image", file_id = theirs.Id } } } },
        })));

        Assert.Equal("file_not_found", (await chat.AssertOpenAIError(HttpStatusCode.BadRequest, "messages[0].content[1].file.file_id")).GetProperty("code").GetString());
        Assert.Equal("file_not_found", (await response.AssertOpenAIError(HttpStatusCode.BadRequest, "input[0].content[1].file_id")).GetProperty("code").GetString());
        Assert.Empty(await SentAll(marker));
    }

    [Fact]
    public async Task A_pdf_file_part_reaches_the_upstream_as_a_file_part()
    {
        using var http = fixture.Gateway.Http();
        var marker = Marker();

        using var response = await Chat(http, "vision", marker, new { type = "file", file = new { file_data = MediaFixture.DataUrl(MediaFixture.Pdf, "application/pdf"), filename = "notes.pdf" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var file = Part(await Sent(marker), "file").GetProperty("file");
        Assert.Equal("notes.pdf", file.GetProperty("filename").GetString());
        Assert.Equal(MediaFixture.DataUrl(MediaFixture.Pdf, "application/pdf"), file.GetProperty("file_data").GetString());
    }

    [Fact]
    public async Task A_text_file_and_audio_reach_the_upstream_in_OpenAIs_shapes()
    {
        using var http = fixture.Gateway.Http();
        var (textMarker, audioMarker) = (Marker(), Marker());
        byte[] wav = [.. "RIFF"u8, 36, 0, 0, 0, .. "WAVEfmt "u8, 16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0, .. "data"u8, 0, 0, 0, 0];

        using var text = await Chat(http, "vision", textMarker, new { type = "file", file = new { file_data = MediaFixture.DataUrl("the notes say 42"u8.ToArray(), "text/plain"), filename = "notes.txt" } });
        using var audio = await Chat(http, "vision", audioMarker, new { type = "input_audio", input_audio = new { data = Convert.ToBase64String(wav), format = "wav" } });

        Assert.Equal(HttpStatusCode.OK, text.StatusCode);
        Assert.Contains("the notes say 42", (await Sent(textMarker)).GetProperty("messages")[0].GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, audio.StatusCode);
        var sentAudio = Part(await Sent(audioMarker), "input_audio").GetProperty("input_audio");
        Assert.Equal("wav", sentAudio.GetProperty("format").GetString());
        Assert.Equal(Convert.ToBase64String(wav), sentAudio.GetProperty("data").GetString());
    }

    [Fact]
    public async Task Files_reach_anthropic_as_document_blocks()
    {
        using var http = fixture.Gateway.Http();
        var marker = Marker();

        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(JsonSerializer.Serialize(new
        {
            model = "claude",
            messages = new[]
            {
                new
                {
                    role = "user",
                    content = new object[]
                    {
                        new { type = "text", text = marker },
                        new { type = "file", file = new { file_data = MediaFixture.DataUrl(MediaFixture.Pdf, "application/pdf"), filename = "a.pdf" } },
                        new { type = "file", file = new { file_data = MediaFixture.DataUrl("the notes say 42"u8.ToArray(), "text/plain"), filename = "b.txt" } },
                    },
                },
            },
        })));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var blocks = (await Sent(marker)).GetProperty("messages")[0].GetProperty("content").EnumerateArray().Where(b => b.GetProperty("type").GetString() == "document").ToList();
        Assert.Equal(2, blocks.Count);
        Assert.Equal(("base64", "application/pdf", Convert.ToBase64String(MediaFixture.Pdf), "a.pdf"), Source(blocks[0]));
        Assert.Equal(("text", "text/plain", "the notes say 42", "b.txt"), Source(blocks[1]));

        static (string?, string?, string?, string?) Source(JsonElement block) => (
            block.GetProperty("source").GetProperty("type").GetString(), block.GetProperty("source").GetProperty("media_type").GetString(),
            block.GetProperty("source").GetProperty("data").GetString(), block.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("vision")]
    [InlineData("claude")]
    public async Task A_remote_image_url_is_passed_on_for_the_provider_to_fetch(string model)
    {
        using var http = fixture.Gateway.Http();
        var marker = Marker();
        const string url = "https://images.example.com/cat.png";

        using var response = await Chat(http, model, marker, Image(url));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = await Sent(marker);
        if (model == "vision")
        {
            Assert.Equal(url, Part(sent, "image_url").GetProperty("image_url").GetProperty("url").GetString());
        }
        else
        {
            var source = Part(sent, "image").GetProperty("source");
            Assert.Equal(("url", url), (source.GetProperty("type").GetString(), source.GetProperty("url").GetString()));
        }
    }

    private static object Image(string url) => new { type = "image_url", image_url = new { url } };

    private static string Marker() => "m-" + Guid.NewGuid().ToString("N")[..10];

    private static Task<HttpResponseMessage> Chat(HttpClient http, string model, string text, object part) =>
        http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(JsonSerializer.Serialize(new
        {
            model,
            messages = new[] { new { role = "user", content = new[] { new { type = "text", text }, part } } },
        })));

    private static async Task<JsonElement> Post(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsync(path, ChatCompletionsTests.Json(JsonSerializer.Serialize(body)));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>The requests the upstream received whose text holds <paramref name="marker"/>.</summary>
    private async Task<List<JsonElement>> SentAll(string marker) =>
        [.. (await fixture.Upstream.ReceivedRequests()).Where(r => r.GetRawText().Contains(marker, StringComparison.Ordinal))];

    private async Task<JsonElement> Sent(string marker) => Assert.Single(await SentAll(marker));

    /// <summary>The one part of <paramref name="type"/> in the last message of <paramref name="request"/>.</summary>
    private static JsonElement Part(JsonElement request, string type) =>
        Assert.Single(request.GetProperty("messages").EnumerateArray().Last().GetProperty("content").EnumerateArray(), p => p.GetProperty("type").GetString() == type);
}
