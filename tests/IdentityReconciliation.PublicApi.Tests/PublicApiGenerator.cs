using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace IdentityReconciliation.PublicApi.Tests;

/// <summary>Writes the exported surface of an assembly as sorted, stable text: types, their bases and their visible members.</summary>
internal static class PublicApiGenerator
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static string Generate(Assembly assembly)
    {
        var nullability = new NullabilityInfoContext();
        var builder = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            builder.Append(Declaration(type)).Append('\n');
            var members = new List<string>();
            foreach (var member in type.GetMembers(Declared))
            {
                var line = Member(member, nullability);
                if (line is not null)
                {
                    members.Add(line);
                }
            }

            foreach (var line in members.Distinct().Order(StringComparer.Ordinal))
            {
                builder.Append("    ").Append(line).Append('\n');
            }

            builder.Append('\n');
        }

        return builder.ToString();
    }

    private static string Declaration(Type type)
    {
        var kind = type switch
        {
            { IsInterface: true } => "interface",
            { IsEnum: true } => "enum",
            { IsValueType: true } => IsRecord(type) ? "record struct" : "struct",
            _ when typeof(Delegate).IsAssignableFrom(type) => "delegate",
            _ => IsRecord(type) ? "record" : "class",
        };
        var modifiers = type switch
        {
            { IsAbstract: true, IsSealed: true } => "static ",
            { IsInterface: false, IsAbstract: true } => "abstract ",
            { IsValueType: false, IsSealed: true } when !typeof(Delegate).IsAssignableFrom(type) => "sealed ",
            { IsValueType: true } when type.GetCustomAttribute<IsReadOnlyAttribute>() is not null => "readonly ",
            _ => "",
        };
        var bases = new List<string>();
        if (type.BaseType is { } baseType && baseType != typeof(object) && baseType != typeof(ValueType) && baseType != typeof(Enum) && !type.IsEnum)
        {
            bases.Add(Name(baseType));
        }

        var inherited = type.BaseType?.GetInterfaces() ?? [];
        bases.AddRange(type.GetInterfaces().Where(i => !inherited.Contains(i) && (i.IsPublic || i.IsNestedPublic)).Select(Name).Order(StringComparer.Ordinal));
        return $"public {modifiers}{kind} {Name(type)}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : "")}";
    }

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null || type.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null;

    private static string? Member(MemberInfo member, NullabilityInfoContext nullability)
    {
        switch (member)
        {
            case ConstructorInfo ctor when Visible(ctor):
                return $"{Access(ctor)}{(ctor.IsStatic ? "static " : "")}.ctor({Parameters(ctor.GetParameters(), nullability)})";
            case MethodInfo method when Visible(method) && !method.IsSpecialName:
                if (method.Name is "<Clone>$" || method.DeclaringType!.IsEnum)
                {
                    return null;
                }

                var generic = method.IsGenericMethod ? "<" + string.Join(", ", method.GetGenericArguments().Select(a => a.Name)) + ">" : "";
                var extension = method.IsDefined(typeof(ExtensionAttribute)) ? "this " : "";
                return $"{Access(method)}{MethodModifiers(method)}{TypeName(nullability.Create(method.ReturnParameter))} {method.Name}{generic}({extension}{Parameters(method.GetParameters(), nullability)})";
            case PropertyInfo property:
                var getter = property.GetMethod is { } g && Visible(g) ? "get; " : "";
                var setter = property.SetMethod is { } s && Visible(s)
                    ? (s.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)) ? "init; " : "set; ")
                    : "";
                if (getter.Length + setter.Length == 0)
                {
                    return null;
                }

                var accessor = (property.GetMethod ?? property.SetMethod)!;
                return $"{Access(accessor)}{MethodModifiers(accessor)}{TypeName(nullability.Create(property))} {property.Name} {{ {getter}{setter}}}";
            case FieldInfo field when (field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly) && !field.IsSpecialName:
                if (field.DeclaringType!.IsEnum)
                {
                    return $"{field.Name} = {Convert.ToInt64(field.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture)}";
                }

                var constant = field.IsLiteral ? $"const {TypeName(nullability.Create(field))} {field.Name} = {Literal(field.GetRawConstantValue())}" : null;
                return constant is not null
                    ? $"{Access(field)}{constant}"
                    : $"{Access(field)}{(field.IsStatic ? "static " : "")}{(field.IsInitOnly ? "readonly " : "")}{TypeName(nullability.Create(field))} {field.Name}";
            case EventInfo @event when @event.AddMethod is { } add && Visible(add):
                return $"{Access(add)}event {Name(@event.EventHandlerType!)} {@event.Name}";
            case Type nested when nested.IsNestedPublic:
                return $"nested {Name(nested)}";
            default:
                return null;
        }
    }

    private static bool Visible(MethodBase method) => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly;

    private static string Access(MethodBase method) => method.IsPublic ? "public " : "protected ";

    private static string Access(FieldInfo field) => field.IsPublic ? "public " : "protected ";

    private static string MethodModifiers(MethodInfo method)
    {
        if (method.IsStatic)
        {
            return "static ";
        }

        if (method.DeclaringType!.IsInterface)
        {
            return "";
        }

        if (method.IsAbstract)
        {
            return "abstract ";
        }

        if (method.IsVirtual && !method.IsFinal)
        {
            return method.GetBaseDefinition() != method ? "override " : "virtual ";
        }

        return method.IsVirtual && method.GetBaseDefinition() != method ? "override " : "";
    }

    private static string Parameters(ParameterInfo[] parameters, NullabilityInfoContext nullability) =>
        string.Join(", ", parameters.Select(p =>
        {
            var prefix = p.IsOut ? "out " : p.ParameterType.IsByRef ? (p.IsIn ? "in " : "ref ") : "";
            var defaultValue = p.HasDefaultValue ? " = " + (p.DefaultValue is null || p.ParameterType.IsValueType && p.DefaultValue is null ? "default" : Literal(p.DefaultValue)) : "";
            if (p.HasDefaultValue && p.DefaultValue is null)
            {
                defaultValue = p.ParameterType.IsValueType && Nullable.GetUnderlyingType(p.ParameterType) is null ? " = default" : " = null";
            }

            return $"{prefix}{TypeName(nullability.Create(p))} {p.Name}{defaultValue}";
        }));

    private static string Literal(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string TypeName(NullabilityInfo info)
    {
        var type = info.Type;
        if (type.IsByRef)
        {
            type = type.GetElementType()!;
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Name(underlying) + "?";
        }

        string name;
        if (type.IsArray && info.ElementType is { } element)
        {
            name = TypeName(element) + "[]";
        }
        else if (type.IsGenericType && info.GenericTypeArguments.Length > 0)
        {
            var definition = type.GetGenericTypeDefinition();
            name = Strip(definition) + "<" + string.Join(", ", info.GenericTypeArguments.Select(TypeName)) + ">";
        }
        else
        {
            name = Name(type);
        }

        return !type.IsValueType && info.ReadState == NullabilityState.Nullable ? name + "?" : name;
    }

    private static string Name(Type type)
    {
        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Name(underlying) + "?";
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (type.IsGenericType)
        {
            return Strip(type.GetGenericTypeDefinition()) + "<" + string.Join(", ", type.GetGenericArguments().Select(Name)) + ">";
        }

        return type.FullName?.Replace('+', '.') ?? type.Name;
    }

    private static string Strip(Type definition)
    {
        var name = (definition.FullName ?? definition.Name).Replace('+', '.');
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }
}
