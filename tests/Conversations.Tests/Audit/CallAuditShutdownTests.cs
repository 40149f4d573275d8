using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Audit;

/// <summary>
/// Call records are written off the call path, in batches; a silo that stops normally writes what it still holds before
/// its grains go, so no record of an answered call is lost to a restart (decision 0050).
/// </summary>
public sealed class CallAuditShutdownTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("audit-");

    [Fact]
    public async Task A_call_answered_just_before_a_normal_shutdown_has_its_record_after_the_restart()
    {
        await using (var gateway = Embedded())
        {
            using var http = gateway.Http();
            using var answered = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json("""{"model":"sim-small","user":"u-last","messages":[{"role":"user","content":"Last words."}]}"""));
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        } // the flush interval is an hour: only the shutdown can have written the record

        await using var restarted = Embedded();
        var page = JsonDocument.Parse(await restarted.Http().GetStringAsync(new Uri("/v1/admin/audit?kind=call", UriKind.Relative))).RootElement;

        var record = Assert.Single(page.GetProperty("data").EnumerateArray());
        Assert.Equal("u-last", record.GetProperty("call").GetProperty("end_user").GetString());
        Assert.Equal(200, record.GetProperty("status").GetInt32());
    }

    public void Dispose() => _data.Delete(recursive: true);

    private GatewayFactory Embedded() => new(new Dictionary<string, string?>
    {
        ["Conversations:Cluster:Storage"] = "Local",
        ["Conversations:Cluster:LocalStoragePath"] = Path.Combine(_data.FullName, "conversations.db"),
        ["Conversations:Audit:FlushInterval"] = "01:00:00",
    });
}
