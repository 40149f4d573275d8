using Conversations.Api;
using Conversations.Api.Hosting;
using Conversations.Portal;
using Conversations.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.UseDefaultListenAddress("http://127.0.0.1:8080");
builder.AddServiceDefaults();
builder.AddConversationsSilo();
builder.Services.AddClusterHealthCheck();

var hostsApi = builder.Configuration.GetValue("Conversations:Api:Enabled", defaultValue: true);
if (hostsApi)
{
    builder.AddConversationsApi();
    builder.AddConversationsPortal();
}

var app = builder.Build();
app.MapDefaultEndpoints();
if (hostsApi)
{
    app.MapConversationsApi();
    app.MapConversationsPortal();
}

app.Run();

public partial class Program;
