using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Conversations.Tests.Infrastructure;

public static class FreePorts
{
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>
    /// A loopback TCP port that nothing listens on at the moment of the call and that no earlier call of
    /// this test run returned (the kernel may hand the same free port out twice in a row).
    /// </summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, true))
            {
                return port;
            }
        }
    }
}
