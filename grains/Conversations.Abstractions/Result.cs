using System.Diagnostics.CodeAnalysis;

namespace Conversations;

/// <summary>A grain call's value or the <see cref="GatewayError"/> that explains why there is none.</summary>
[GenerateSerializer, Immutable, Alias("conv.Result`1")]
public readonly record struct Result<T>(
    [property: Id(0)] T? Value,
    [property: Id(1)] GatewayError? Error)
{
    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(GatewayError error) => new(default, error);
}
